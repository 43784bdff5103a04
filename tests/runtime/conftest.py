"""The real bubblewrap, or a skip that says why (CI installs bubblewrap: there these tests must run)."""

from __future__ import annotations

import pytest

from jobs.runtime import sandbox
from tests.conftest import _require


@pytest.fixture
def bwrap() -> sandbox.Availability:
    found = sandbox.availability()
    _require(f"bubblewrap able to create a sandbox on this machine (here: {found.reason or 'ok'}; "
             f"{sandbox.FIX})", found.available)
    return found


@pytest.fixture(params=["auto", "off"])
def sandbox_mode(request) -> str:
    """Both ways a node runs: in bubblewrap (where it works; else a skip or, in CI, a failure) and without."""
    if request.param == "auto":
        request.getfixturevalue("bwrap")
    return request.param
