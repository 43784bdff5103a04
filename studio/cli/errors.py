"""The one error type the CLI prints: a message for the user and the exit code to leave with."""

from __future__ import annotations

from typing import Any, Sequence


class CliError(Exception):
    """``plain`` messages are printed as they are (e.g. ``file:line:col: ...`` lines), others after ``error:``.

    ``message`` is what a terminal shows; ``summary``, ``code``, ``recommendations`` and ``errors``
    are the same failure as data, for the error document ``--output json`` prints (``to_dict``)."""

    def __init__(self, message: str, exit_code: int = 1, *, plain: bool = False, summary: str | None = None,
                 code: str | None = None, recommendations: Sequence[str] = (), errors: Sequence[Any] = (),
                 status: int | None = None):
        super().__init__(message)
        self.status = status  # the studio's HTTP status, when the error is its answer
        self.message = message
        self.exit_code = exit_code
        self.plain = plain
        self.summary = message if summary is None else summary
        self.code = code
        self.recommendations = list(recommendations)
        self.errors = list(errors)

    def to_dict(self) -> dict:
        return {"message": self.summary, "code": self.code, "recommendations": self.recommendations,
                "errors": self.errors}
