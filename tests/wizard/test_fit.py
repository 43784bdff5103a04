"""The "Will it fit?" panel says what the scheduling core decided, in the core's words: the
sentence, the queue position and the start estimate (or why there is none)."""

from __future__ import annotations

from datetime import datetime, timezone


from jobs.scheduling import core
from jobs.wizard import rules
from jobs.wizard.fit import fit_of
from quotas.core import Quotas, SubscriptionQuota, WorkspaceQuota
from tests.wizard.helpers import CATALOGUE

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def decide(count: int = 1, *, running: tuple = ()) -> core.Decision:
    """The core's decision about a job of `count` Standard_D4s_v3 nodes in a 4-vCPU family quota."""
    quotas = Quotas(subscriptions={"s1": SubscriptionQuota({"standardDSv3Family": 4, "cores": 100}, 0)},
                    workspaces={"w1": WorkspaceQuota("s1")})
    snapshot = core.Snapshot(now=NOW, catalogue=CATALOGUE, quotas=quotas, running=running)
    job = core.PendingJob(id=1, name="probe", submitted_at=NOW, workspace="w1", instance_count=count,
                          instance_type="Standard_D4s_v3")
    return core.explain(job, snapshot)


def test_it_says_a_job_that_fits_starts_now():
    fit = fit_of(decide(), now=NOW)
    assert (fit.verdict, fit.title, fit.instance_type, fit.nodes) == ("starts", "Starts now", "Standard_D4s_v3", 1)
    assert "as asked" in fit.detail


def test_it_gives_a_waiting_jobs_position_and_estimate():
    blocker = core.RunningJob(id=9, workspace="w1", instance_type="Standard_D4s_v3", nodes=1, started_at=NOW,
                              timeout_seconds=600)
    decision = decide(running=(blocker,))
    fit = fit_of(decision, now=NOW)
    assert (fit.verdict, fit.title, fit.position) == ("waits", "Waits in the queue (position 1)", 1)
    assert "12:10 UTC" in fit.estimate  # the blocker's time limit
    assert fit.detail == rules.waiting(decision, now=NOW).sentence
    assert "Standard_D4s_v3" in fit.detail


def test_it_says_why_a_job_will_not_run_and_what_to_do():
    fit = fit_of(decide(2), now=NOW)
    assert (fit.verdict, fit.title) == ("rejected", "Will not run as asked")
    assert "at most 1 instance of Standard_D4s_v3" in fit.detail
    assert fit.recommendations[0] == "reduce `resources.instance_count` to 1"
