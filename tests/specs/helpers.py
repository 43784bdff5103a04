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
