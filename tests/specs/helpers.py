"""Small helpers shared by the spec tests."""

from jobs.specs import SpecError, SpecIssue, load_command_job

MINIMAL = "command: echo hello\nenvironment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"


def problems(text: str, **kwargs) -> list[SpecIssue]:
    """The issues load_command_job reports for `text` (fails the test if it loads)."""
    try:
        load_command_job(text, source="job.yml", **kwargs)
    except SpecError as error:
        return error.issues
    raise AssertionError("expected a SpecError")


def problem_at(text: str, path: str, **kwargs) -> SpecIssue:
    """The single issue reported at `path`."""
    found = [issue for issue in problems(text, **kwargs) if issue.path == path]
    assert len(found) == 1, (path, problems(text, **kwargs))
    return found[0]


def errors_of(load, text: str, **kwargs) -> list[SpecIssue]:
    """The issues `load(text, ...)` (any load_* function) reports (fails the test if it loads)."""
    try:
        load(text, source="job.yml", **kwargs)
    except SpecError as error:
        return error.issues
    raise AssertionError("expected a SpecError")


def error_at(load, text: str, path: str, **kwargs) -> SpecIssue:
    """The single issue `load` reports at `path`."""
    found = [issue for issue in errors_of(load, text, **kwargs) if issue.path == path]
    assert len(found) == 1, (path, errors_of(load, text, **kwargs))
    return found[0]


def write_tree(root, files: dict) -> None:
    """Write {relative path: text} under `root` (a pathlib.Path), creating folders."""
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
