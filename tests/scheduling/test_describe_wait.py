"""The sentence a user reads about a waiting job, composed when it is read (``now`` moves)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.scheduling.core import Estimate, describe_wait
from tests.scheduling.catalogue import NOW

WHY = "waiting for quota: Standard_D2s_v3 × 1 needs 2 vCPUs of standardDSv3Family quota, which has 0 free of 4"
BASIS = "based on the time limit of 2 running jobs"


def at(seconds):
    return NOW + timedelta(seconds=seconds)


CASES = {
    "no estimate says why": (
        2, None, "no estimate: the 2 running jobs it waits for have no time limit and no history", NOW,
        f"{WHY}; position 2 in the queue; no estimate: the 2 running jobs it waits for have no time limit and no "
        "history"),
    "a range in the future gives both ends": (
        1, Estimate(at(60), at(300)), BASIS, NOW,
        f"{WHY}; position 1 in the queue; estimated start earliest in about 1 min (12:01:00 UTC), latest in about "
        f"5 min (12:05 UTC), {BASIS}"),
    "a range that may start now gives its latest only": (
        1, Estimate(NOW, at(50)), BASIS, NOW,
        f"{WHY}; position 1 in the queue; estimated start at the latest in about 50 s (12:00:50 UTC), {BASIS}"),
    "a range whose earliest has passed, read later, gives its latest only": (
        1, Estimate(at(60), at(600)), BASIS, at(120),
        f"{WHY}; position 1 in the queue; estimated start at the latest in about 8 min (12:10 UTC), {BASIS}"),
    "a known moment is said once": (
        1, Estimate(at(50), at(50)), BASIS, NOW,
        f"{WHY}; position 1 in the queue; estimated start in about 50 s (12:00:50 UTC), {BASIS}"),
    "an earliest with no latest says so": (
        3, Estimate(at(50), None), BASIS, NOW,
        f"{WHY}; position 3 in the queue; estimated start earliest in about 50 s (12:00:50 UTC), no latest known, "
        f"{BASIS}"),
    "a latest that has passed is overdue": (
        1, Estimate(NOW, at(60)), BASIS, at(300),
        f"{WHY}; position 1 in the queue; estimated start overdue, due 4 min ago (12:01 UTC), {BASIS}"),
    "no position, no position clause": (
        None, Estimate(at(50), at(50)), BASIS, NOW,
        f"{WHY}; estimated start in about 50 s (12:00:50 UTC), {BASIS}"),
}


@pytest.mark.parametrize("position,estimate,basis,now,expected", CASES.values(), ids=CASES.keys())
def test_it_says_why_where_and_when(position, estimate, basis, now, expected):
    assert describe_wait(reason=WHY, position=position, estimate=estimate, basis=basis, now=now) == expected


offsets = st.floats(min_value=-7200, max_value=7200, allow_nan=False)


@given(offsets, offsets, st.booleans(), offsets)
def test_it_never_says_any_moment_or_zero_seconds(earliest, span, bounded, read_at):
    estimate = Estimate(at(earliest), at(earliest + abs(span)) if bounded else None)
    sentence = describe_wait(reason=WHY, position=1, estimate=estimate, basis=BASIS, now=at(read_at))
    assert "any moment" not in sentence and " 0 s" not in sentence and " 0 ms" not in sentence
