"""Problems found in a spec, each tied to a field path and (when known) a place in the file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem (or warning) about one field.

    `path` is a dotted field path such as `inputs.iris_csv.mode` (`""` is the whole document);
    `line` and `column` are 1-based and None when the value did not come from a file
    (`from_dict`, `--set`).
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    file: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line, self.column) if part is not None)
        field = f"{self.path}: " if self.path else ""
        return f"{where}: {field}{self.message}" if where else f"{field}{self.message}"


def sort_issues(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Order issues as they appear in the file; issues without a position go last."""
    return sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0, issue.column or 0))


class SpecError(Exception):
    """A spec could not be read. `issues` lists every problem found, not just the first."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = list(issues)
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.issues) == 1:
            return str(self.issues[0])
        lines = [f"{len(self.issues)} problems:"]
        lines += [f"  {issue}" for issue in self.issues]
        return "\n".join(lines)
