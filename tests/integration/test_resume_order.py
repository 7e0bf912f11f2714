"""A worker resumes fetching its stream partitions only once Faust has emptied its stream
buffers at the end of a rebalance (``tiering.runtime.faust_internals``), checked on a real
worker against the real consumer and broker as a second worker joins; and the control: without
the fix, Faust resumes them while its flow control is still suspended, which is how messages
fetched in between were dropped for good."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness.deployment import ROOT, Deployment, release_test_port, take_test_port
from tests.harness.records import posting


async def rebalances(d: Deployment, tmp_path: Path, *flags: str) -> list[list[dict[str, Any]]]:
    """What the probe saw in each rebalance, from its start to its end: its first assignment,
    and the rebalance a second worker causes by joining."""
    out = tmp_path / f"events-{d.name}.json"
    log = tmp_path / f"probe-{d.name}.log"
    command = [sys.executable, "-m", "tests.integration.resume_probe", str(out), *flags]
    with log.open("wb") as output:
        probe = await asyncio.to_thread(
            subprocess.Popen, command, env=d.env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    second = take_test_port()
    try:
        await d.wait_healthy()  # the probe holds every partition
        d.start_worker(tmp_path, port=second)  # joins: the probe's partitions are revoked
        code = await asyncio.to_thread(probe.wait, 120)
        assert code == 0, log.read_text()[-5000:]
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
        d.stop_workers()
        release_test_port(second)
    segments: list[list[dict[str, Any]]] = []
    for event in json.loads(out.read_text()):
        if event["event"] == "start":
            segments.append([])
        elif segments:
            segments[-1].append(event)
    return segments


def emptied_after_resuming(segment: list[dict[str, Any]]) -> bool:
    """Whether Faust emptied its stream buffers after it had resumed stream partitions: what it
    had fetched for them in between is then thrown away."""
    resumed = False
    for event in segment:
        resumed = resumed or (event["event"] == "resume" and event["streams"] > 0)
        if resumed and event["event"] == "clear":
            return True
    return False


async def test_partitions_resume_only_after_the_buffers_are_emptied(
    deployment: Any, tmp_path: Path
) -> None:
    d = await deployment("resume")
    await d.produce(posting(f"T{i}", f"C{i}", "10.00") for i in range(40))
    segments = await rebalances(d, tmp_path)
    assert len(segments) == 2, segments
    for segment in segments:
        assert any(e["event"] == "resume" and e["streams"] for e in segment), segment
        assert not emptied_after_resuming(segment), segment


async def test_without_the_fix_faust_resumes_them_before(deployment: Any, tmp_path: Path) -> None:
    d = await deployment("noresume")
    await d.produce(posting(f"T{i}", f"C{i}", "10.00") for i in range(40))
    segments = await rebalances(d, tmp_path, "--without-fix")
    assert len(segments) == 2, segments
    assert all(emptied_after_resuming(segment) for segment in segments), (
        "faust-streaming no longer empties its stream buffers after resuming the stream "
        "partitions: tiering/runtime/faust_internals/rebalance.py's fix may not be needed "
        f"({segments})"
    )
