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

from jobs.scheduling.core import describe_estimate, describe_wait, size_problem
from jobs.specs import compute_name, is_serverless
from quotas.core import STANDARD, VmSize


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


def cluster_name(compute: Any) -> str:
    """The named cluster of a spec's `compute` ("" on serverless), as the spec layer reads it."""
    return compute_name(compute) or ""


def code_of(decision: Any) -> str:
    """The machine-readable reason code of a Wait or Reject ("" when there is none)."""
    code = getattr(decision, "code", None)
    return str(code.value) if code is not None else ""


@dataclass(frozen=True)
class Waiting:
    sentence: str  # the core's whole sentence about the wait
    position: int | None
    estimate: str  # "in about 4 min (12:04 UTC) – in about 10 min (12:10 UTC)", or "no estimate: <basis>"
    instance_type: str | None


def waiting(decision: Any, *, now: datetime) -> Waiting:
    """What the "Will it fit?" panel says about a core.Wait decision."""
    sentence = describe_wait(reason=decision.reason, position=decision.position, estimate=decision.estimate,
                             basis=decision.basis, now=now)
    return Waiting(sentence, decision.position, describe_estimate(estimate=decision.estimate, basis=decision.basis, now=now),
                   decision.instance_type)

