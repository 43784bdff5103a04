"""The one error type the CLI prints: a message for the user and the exit code to leave with."""


class CliError(Exception):
    """``plain`` messages are printed as they are (e.g. ``file:line:col: ...`` lines), others after ``error:``."""

    def __init__(self, message: str, exit_code: int = 1, *, plain: bool = False):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.plain = plain
