"""Validating a file on disk, whatever it holds: never raises, every problem becomes an error.

The verdict (`valid`) agrees with Azure ML's own loader; rules the service only enforces when a
job is submitted (see `submission.py`, e.g. "Compute not set") are reported as warnings that
start with "will be refused at submission:". Other warnings (a `code` folder absent locally, a
registered component that cannot be checked offline) never make a file invalid either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import read_text
from .errors import SpecError, SpecIssue, sort_issues
from .fields import Issues
from .kinds import JOB_TYPES, detect_kind
from .loading import READERS, reading_context
from .submission import check_submittable
from .yaml_loader import MAX_BYTES, parse_yaml

SUBMISSION = "will be refused at submission: "


@dataclass(frozen=True)
class ValidationResult:
    file: str
    kind: str
    valid: bool
    errors: list[SpecIssue] = field(default_factory=list)
    warnings: list[SpecIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "valid": self.valid,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


def _validator(kind: str) -> Callable[[Issues, Any, Path], Any]:
    reader = READERS[kind]
    return lambda issues, data, base_dir: reader(issues, data, reading_context(base_dir))


# Every kind but `unknown` is fully validated: kind -> validator(issues, data, base_dir) -> spec.
VALIDATORS: dict[str, Callable[[Issues, Any, Path], Any]] = {kind: _validator(kind) for kind in READERS}


def validate_file(path: str | Path, *, max_bytes: int = MAX_BYTES) -> ValidationResult:
    """Read, parse and validate one file. A `code` folder missing locally is only a warning."""
    file = str(path)
    issues = Issues(source=file)
    kind = "unknown"
    try:
        text = read_text(Path(path), max_bytes)
        data, issues.locations, problems = parse_yaml(text, source=file, max_bytes=max_bytes)
        issues.errors += problems
        kind = detect_kind(data)
        _validate(issues, kind, data, Path(path).parent)
    except SpecError as exc:
        issues.errors += exc.issues
    except RecursionError:
        issues.error("", "the document is nested too deeply to validate")
    except Exception as exc:  # the promise is "never raises": report the unexpected too
        issues.error("", f"could not validate this file ({type(exc).__name__}: {exc})")
    errors = sort_issues(issues.errors)
    return ValidationResult(file, kind, not errors, errors, sort_issues(issues.warnings))


def _validate(issues: Issues, kind: str, data: Any, base_dir: Path) -> None:
    if kind in VALIDATORS:
        spec = VALIDATORS[kind](issues, data, base_dir)
        if spec is not None and not issues.errors and kind in JOB_TYPES:
            _warn_submission(issues, spec)
    elif data is None:
        issues.error("", "the file is empty")
    elif not isinstance(data, dict):
        issues.error("", "expected a mapping (key: value lines) at the top level")
    else:
        issues.warn(
            "",
            "not recognised as an Azure ML job, component or asset "
            "(no type:, $schema: or command:); nothing was validated",
        )


def _warn_submission(issues: Issues, spec: Any) -> None:
    placed = Issues(source=issues.source, locations=issues.locations)
    for problem in check_submittable(spec, issues=placed):
        issues.warnings.append(SpecIssue(problem.path, SUBMISSION + problem.message, problem.line, problem.column,
                                         problem.file))
