"""Validating a file on disk, whatever it holds: never raises, every problem becomes an error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .command import read_command_job
from .errors import SpecError, SpecIssue, sort_issues
from .fields import Issues
from .kinds import detect_kind
from .yaml_loader import MAX_BYTES, parse_yaml


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


def _validate_command(issues: Issues, data: Any, base_dir: Path) -> None:
    read_command_job(issues, data, base_dir=base_dir, strict_paths=False)


# Kinds with full validation; later issues register sweep, pipeline, components here.
VALIDATORS: dict[str, Callable[[Issues, Any, Path], None]] = {"command": _validate_command}


def validate_file(path: str | Path, *, max_bytes: int = MAX_BYTES) -> ValidationResult:
    """Read, parse and validate one file. A `code` folder missing locally is only a warning."""
    file = str(path)
    issues = Issues(source=file)
    kind = "unknown"
    try:
        text = _read_text(Path(path), max_bytes)
        data, issues.locations, problems = parse_yaml(text, source=file, max_bytes=max_bytes)
        issues.errors += problems
        kind = detect_kind(data)
        _validate(issues, kind, data, Path(path).parent)
    except SpecError as exc:
        issues.errors += exc.issues
    except Exception as exc:  # the promise is "never raises": report the unexpected too
        issues.error("", f"could not validate this file ({type(exc).__name__}: {exc})")
    errors = sort_issues(issues.errors)
    return ValidationResult(file, kind, not errors, errors, sort_issues(issues.warnings))


def _validate(issues: Issues, kind: str, data: Any, base_dir: Path) -> None:
    if kind in VALIDATORS:
        VALIDATORS[kind](issues, data, base_dir)
    elif data is None:
        issues.error("", "the file is empty")
    elif not isinstance(data, dict):
        issues.error("", "expected a mapping (key: value lines) at the top level")
    elif kind == "unknown":
        issues.warn(
            "",
            "not recognised as an Azure ML job, component or asset "
            "(no type:, $schema: or command:); nothing was validated",
        )
    else:
        issues.warn("", f"validation of {kind} files is not implemented yet")


def _read_text(path: Path, max_bytes: int) -> str:
    def fail(message: str) -> SpecError:
        return SpecError([SpecIssue("", message, None, None, str(path))])

    if path.is_dir():
        raise fail("is a folder; give the path of a YAML file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise fail(f"file is larger than {max_bytes:,} bytes; job files are small, so check this is the right file")
    if b"\0" in raw:
        raise fail("is a binary file, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - before.rfind(b"\n")
        message = f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8"
        raise SpecError([SpecIssue("", message, line, column, str(path))]) from None
