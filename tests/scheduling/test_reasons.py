"""Reason codes: machine-readable, CamelCase like Kueue's, each explained in words."""

from __future__ import annotations

import re

from jobs.scheduling.core import Reason


def test_it_explains_every_code_in_its_own_words():
    docs = [member.__doc__ for member in Reason]
    assert all(doc and doc != Reason.__doc__ for doc in docs)
    assert len(set(docs)) == len(docs)
    assert all(re.match(r"(Waits|Refused|Evicted): \S", doc) for doc in docs)


def test_it_reads_as_its_value():
    for member in Reason:
        assert re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*", member.value), member
        assert str(member) == f"{member}" == member.value and Reason(member.value) is member
