"""Freed heap memory goes back to the operating system when the worker asks."""

from __future__ import annotations

from pathlib import Path

from tiering.runtime.memory import release_freed_memory


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_freed_memory_goes_back() -> None:
    # 120 MB in malloc-sized pieces (over pymalloc's 512 B), then all but every 200th freed:
    # the survivors pin the heap's top, so glibc alone would keep the pages in between
    pieces = [bytes(1200) + i.to_bytes(4, "little") for i in range(100_000)]
    survivors = pieces[::200]
    del pieces
    before = resident_bytes()
    assert release_freed_memory()
    assert resident_bytes() < before - 50 * 2**20
    assert len(survivors) == 500
