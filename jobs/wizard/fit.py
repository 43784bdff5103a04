"""The "Will it fit?" panel (pure Python): the scheduling core's decision about the job as it
would be submitted now, in the core's own words (jobs.wizard.rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobs.scheduling import core
from jobs.wizard import rules


@dataclass(frozen=True)
class Fit:
    """The scheduling service's answer, as the panel says it."""

    verdict: str  # starts | waits | rejected
    title: str
    detail: str
    instance_type: str | None = None
    nodes: int | None = None
    position: int | None = None
    estimate: str = ""  # when a waiting job starts, or "no estimate: <why>"
    code: str = ""  # the core's reason code of a wait or refusal
    recommendations: tuple[str, ...] = ()


def fit_of(decision: core.Decision, *, now: datetime) -> Fit:
    if isinstance(decision, core.Admit):
        return Fit("starts", "Starts now", decision.reason, decision.instance_type, decision.nodes)
    if isinstance(decision, core.Wait):
        wait = rules.waiting(decision, now=now)
        return Fit("waits", f"Waits in the queue (position {wait.position})" if wait.position else "Waits in the queue",
                   wait.sentence, wait.instance_type, position=wait.position, estimate=wait.estimate,
                   code=rules.code_of(decision))
    if isinstance(decision, core.Reject):
        return Fit("rejected", "Will not run as asked", decision.reason, code=rules.code_of(decision),
                   recommendations=tuple(decision.recommendations))
    raise TypeError(f"not a decision about a waiting job: {decision!r}")
