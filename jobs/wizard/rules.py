"""The rules the wizard takes from the scheduling core and the spec layer instead of saying them
again (pure Python): one call site each, so that the wizard, the API and the CLI refuse and
explain in the same words.

- `size_refusal(name, tier, catalogue)`: why serverless compute cannot run a VM size at a tier
  (`jobs.scheduling.core.size_problem`);
- `runs_on_serverless(spec)`: whether a spec dict runs on serverless (`jobs.specs.is_serverless`);
- `waiting(decision, now=...)`: a waiting job's sentence (`core.describe_wait`), queue position
  and start estimate, as the "Will it fit?" panel shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs.scheduling import core
from quotas.core import SPOT, STANDARD, VmSize
from studio.humanize import moment_from_now

# --- TEMPORARY: until the branches wt-core (scheduling core) and wt-specs (spec layer) are merged.
# Delete everything from here to "END TEMPORARY", and the `_current(...)` call in `waiting()`,
# once `jobs.scheduling.core.size_problem`, the keyword-only `core.describe_wait(reason=,
# position=, estimate=, basis=, now=)` with `Wait.code/estimate/basis` and `Reject.code`, and
# `jobs.specs.is_serverless` exist; the code below this block already calls them that way.
# Then import them plainly: `from jobs.scheduling.core import describe_wait, size_problem` and
# `from jobs.specs import is_serverless`.
import dataclasses
import difflib

try:
    from jobs.scheduling.core import size_problem
except ImportError:
    def size_problem(name: str, tier: str, catalogue: Mapping[str, VmSize]) -> tuple[str, str] | None:
        """Stand-in for the core's own (its sentences, today in core._Decider._size_refusal)."""
        size = catalogue.get(name) or next((s for s in catalogue.values() if s.name.lower() == name.lower()), None)
        if size is None:
            close = difflib.get_close_matches(name, list(catalogue), n=3)
            return "UnknownSize", f"unknown VM size '{name}'" + (f"; did you mean {', '.join(close)}?" if close else "")
        if size.serverless == "no":
            return "SizeNotOffered", f"{size.name} is not offered on serverless compute (retired or unsupported)"
        if tier == SPOT and size.price_spot is None:
            return "NoSpotPrice", f"{size.name} is not available as Spot (low priority)"
        return None

try:
    from jobs.specs import is_serverless
except ImportError:
    from jobs.specs.common import SERVERLESS as _SERVERLESS_NAMES

    def is_serverless(compute: str | None) -> bool:
        return compute is None or compute.strip().lower() in _SERVERLESS_NAMES

if "estimate" in {f.name for f in dataclasses.fields(core.Wait)}:
    describe_wait = core.describe_wait
else:
    def describe_wait(*, reason: str, position: int | None, estimate, basis: str, now: datetime) -> str:
        return core.describe_wait(reason, position, estimate.earliest if estimate else None, now)


@dataclass(frozen=True)
class _Estimate:
    earliest: datetime
    latest: datetime | None


@dataclass(frozen=True)
class _Decision:
    """A Wait or Reject of today's core with the fields the merged core gives them."""

    reason: str
    code: str = ""
    position: int | None = None
    estimate: _Estimate | None = None
    basis: str = ""
    instance_type: str | None = None
    recommendations: tuple[str, ...] = ()


def _current(decision: Any) -> Any:
    if hasattr(decision, "code"):
        return decision
    if isinstance(decision, core.Wait):
        moment = decision.estimated_start
        return _Decision(decision.reason, position=decision.position, instance_type=decision.instance_type,
                         estimate=_Estimate(moment, moment) if moment else None,
                         basis="" if moment else "the jobs ahead have no known end")
    return _Decision(decision.reason, recommendations=tuple(decision.recommendations))
# --- END TEMPORARY --------------------------------------------------------------------------------


def size_refusal(name: str, tier: str, catalogue: Mapping[str, VmSize]) -> str | None:
    """Why serverless compute cannot run VM size `name` at `tier`, in the core's words (None: it can)."""
    found = size_problem(name, tier, catalogue)
    if found is None:
        return None
    _, sentence = found
    return sentence.removeprefix("resources.instance_type: ")  # the wizard shows it on that field


def only_at_spot(name: str, tier: str, catalogue: Mapping[str, VmSize]) -> bool:
    """The size is refused only because of the Spot tier (Standard would do)."""
    return tier != STANDARD and size_problem(name, STANDARD, catalogue) is None


def runs_on_serverless(spec: Mapping) -> bool:
    """Whether the job of a spec dict runs on serverless compute (no compute, or azureml:serverless)."""
    compute = spec.get("compute")
    return is_serverless(None if compute is None else str(compute))


def code_of(decision: Any) -> str:
    """The machine-readable reason code of a Wait or Reject ("" when there is none)."""
    code = getattr(_current(decision), "code", "")  # TEMPORARY: `decision.code` after the merge
    return str(getattr(code, "value", code) or "")


@dataclass(frozen=True)
class Waiting:
    sentence: str  # the core's whole sentence about the wait
    position: int | None
    estimate: str  # "in about 4 min (12:04 UTC) – in about 10 min (12:10 UTC)", or "no estimate: <basis>"
    instance_type: str | None


def waiting(decision: Any, *, now: datetime) -> Waiting:
    """What the "Will it fit?" panel says about a core.Wait decision."""
    decision = _current(decision)  # TEMPORARY: delete this line after the merge
    sentence = describe_wait(reason=decision.reason, position=decision.position, estimate=decision.estimate,
                             basis=decision.basis, now=now)
    return Waiting(sentence, decision.position, estimate_text(decision.estimate, decision.basis, now=now),
                   decision.instance_type)


def estimate_text(estimate: Any, basis: str, *, now: datetime) -> str:
    """A start estimate (with `earliest` and `latest`, None when unbounded) in words; with no
    estimate, why there is none."""
    if estimate is None:
        return f"no estimate: {basis}" if basis else "no estimate"
    earliest = moment_from_now(max(estimate.earliest, now), now)
    if estimate.latest is None:
        words = f"{earliest} at the earliest"
    elif estimate.latest <= estimate.earliest:
        words = earliest
    else:
        words = f"{earliest} – {moment_from_now(max(estimate.latest, now), now)}"
    return f"{words}; {basis}" if basis else words
