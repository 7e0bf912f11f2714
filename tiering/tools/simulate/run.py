"""A simulation from start to end: the candidate checked as publishing would check it, the
versions published and the customers read, each customer re-placed on a copy."""

from __future__ import annotations

from tiering.core.policy import PolicyError
from tiering.core.policy_versions import PolicyVersions, published, read_version
from tiering.settings import Settings
from tiering.tools.policy_publish import check_publication, published_versions
from tiering.tools.simulate.outcome import Simulation, simulate
from tiering.tools.simulate.source import Progress, partitions, read_states, switched


async def run_simulation(
    settings: Settings,
    text: str,
    progress: Progress = lambda done, total: None,
    placing: Progress = lambda done, total: None,
) -> Simulation:
    """What publishing the policy file ``text`` would do now; :class:`PolicyError` when it is
    not valid, or publishing would refuse it. ``progress``: the records read of the changelog;
    ``placing``: the customers re-placed."""
    candidate = published(text)
    known = await published_versions(settings)
    if not check_publication(candidate, known):
        raise PolicyError(f"policy {candidate.version} is published already: nothing to simulate")
    versions = PolicyVersions(settings.policy, known)
    stored = await read_states(settings, progress)
    return simulate(
        partitions(stored, placing),
        versions,
        read_version(text),
        switched(stored, settings.policy),
    )
