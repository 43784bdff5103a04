"""One copy of why a VM size cannot run on serverless: the wizard asks it, the core refuses with it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.scheduling.core import PendingJob, Reason, Snapshot, decide, size_problem
from tests.scheduling.catalogue import CATALOGUE, NOW, quotas

PROBLEMS = {
    "an unknown size, with the sizes it is close to": (
        "Standard_D4s_v9", "Standard",
        (Reason.UNKNOWN_VM_SIZE, "unknown VM size 'Standard_D4s_v9'; did you mean Standard_D4s_v3, Standard_E4s_v3, "
                                 "Standard_D2s_v3?")),
    "an unknown size close to nothing": (
        "big-gpu-please", "Standard", (Reason.UNKNOWN_VM_SIZE, "unknown VM size 'big-gpu-please'")),
    "a retired size": (
        "Standard_NC6", "Standard",
        (Reason.SIZE_NOT_ON_SERVERLESS, "Standard_NC6 is not offered on serverless compute (retired or unsupported)")),
    "a size with no Spot offer, as Spot": (
        "Standard_ND96isr_H100_v5", "Spot",
        (Reason.SPOT_UNAVAILABLE, "Standard_ND96isr_H100_v5 is not available as Spot (low priority)")),
}
FINE = {
    "a size with no Spot offer, as Standard": ("Standard_ND96isr_H100_v5", "Standard"),
    "a size named in other case": ("standard_d2s_v3", "Spot"),
}


@pytest.mark.parametrize("name,tier,expected", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_it_names_the_problem_and_the_core_refuses_with_the_same_words(name, tier, expected):
    assert size_problem(name, tier, CATALOGUE) == expected
    job = PendingJob(1, "job1", NOW - timedelta(seconds=1), "w1", 1, name, tier)
    (reject,) = decide(Snapshot(NOW, CATALOGUE, quotas(), pending=(job,)))
    assert (reject.code, reject.reason) == (expected[0], f"resources.instance_type: {expected[1]}")


@pytest.mark.parametrize("name,tier", FINE.values(), ids=FINE.keys())
def test_it_finds_no_problem_with_a_size_serverless_runs(name, tier):
    assert size_problem(name, tier, CATALOGUE) is None
