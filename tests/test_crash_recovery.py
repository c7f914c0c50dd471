"""SIGKILL in the middle of a fan-out: nothing lost, duplicates bounded by the in-flight window.

The drill (tests/drills/sigkill.py) on both databases, at fixed kill points.
"""

from __future__ import annotations

from tests.drills import sigkill

RECIPIENTS = 2000
KILLS = (300, 900, 1500)  # messages sent when each SIGKILL comes


async def test_sigkill_mid_fanout_loses_nothing(database_url: str) -> None:
    verdict = await sigkill.run(
        RECIPIENTS, len(KILLS), database_url=database_url, points=list(KILLS)
    )
    figures = verdict.figures
    assert figures["lost"] == 0, verdict.problems  # nobody lost
    assert figures["duplicates"] <= len(KILLS) * sigkill.IN_FLIGHT, figures["duplicates"]
    assert figures["ledger"] == {"sent": RECIPIENTS}
    assert verdict.ok, verdict.problems
