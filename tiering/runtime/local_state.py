"""The worker's data directory and whose state it holds.

A worker restarts from the tables it keeps on disk, so it must never start from tables that are
not its own: a directory copied from another deployment (another app id, topic prefix or
partition count), written by a store it no longer uses, or a database that no longer opens.
:func:`claim_data_dir` runs before the worker starts; each such finding is said once, clearly,
and the tables concerned are removed, so that Faust rebuilds them from the changelog.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from tiering.runtime.faust_internals import ROCKSDB_OFFSET_KEY
from tiering.settings import Settings

log = logging.getLogger(__name__)

#: names the deployment whose state the data directory holds
MARKER = "deployment.json"


@dataclass(frozen=True, slots=True)
class Owner:
    """What a data directory's tables belong to."""

    app_id: str
    topic_prefix: str
    topic_partitions: int
    state_store: str

    @classmethod
    def of(cls, settings: Settings) -> Owner:
        return cls(
            settings.app_id, settings.topic_prefix, settings.topic_partitions, settings.state_store
        )


def claim_data_dir(settings: Settings, tables_dir: Path) -> list[str]:
    """Make ``settings.data_dir`` this deployment's before the worker starts. Returns what was
    found wrong and discarded (also logged); empty when the tables can be used as they are."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    owner = Owner.of(settings)
    marker = data_dir / MARKER
    found: list[str] = []
    databases = sorted(tables_dir.glob("*.db")) if tables_dir.is_dir() else []
    if databases:
        problem = _foreign(marker, owner)
        if problem is not None:
            found.append(problem)
            shutil.rmtree(tables_dir)
        else:
            for db in databases:
                broken = _unreadable(db) if owner.state_store == "rocksdb" else None
                if broken is not None:
                    found.append(f"{db.name} {broken}")
                    shutil.rmtree(db)
    for problem in found:
        log.warning(
            "data directory %s: %s; its tables are discarded and rebuilt from the changelog",
            data_dir,
            problem,
        )
    marker.write_text(json.dumps(asdict(owner), sort_keys=True) + "\n")
    return found


def _foreign(marker: Path, owner: Owner) -> str | None:
    """Why the tables next to ``marker`` are not ``owner``'s, or ``None``."""
    if not marker.exists():
        return f"it holds tables but no {MARKER}: whose they are is unknown"
    try:
        claimed = Owner(**json.loads(marker.read_text()))
    except (ValueError, TypeError) as exc:
        return f"{MARKER} is unreadable ({type(exc).__name__})"
    if claimed != owner:
        differ = [
            f"{name} {getattr(claimed, name)!r} (this worker: {getattr(owner, name)!r})"
            for name in asdict(owner)
            if getattr(claimed, name) != getattr(owner, name)
        ]
        return "it holds the tables of another deployment: " + ", ".join(differ)
    return None


def _unreadable(path: Path) -> str | None:
    """Why the RocksDB database at ``path`` cannot be used, or ``None``."""
    import rocksdict

    try:
        options = rocksdict.Options(raw_mode=True)
        db = rocksdict.Rdict(
            str(path), options=options, access_type=rocksdict.AccessType.read_only()
        )
    except Exception as exc:  # rocksdict raises its own exception types for corruption
        return f"does not open ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    try:
        offset = db.get(ROCKSDB_OFFSET_KEY)
        if offset is not None and not offset.isdigit():
            return "holds an unreadable changelog offset"
    finally:
        db.close()
    return None
