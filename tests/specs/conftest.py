"""The spec layer is pure Python: these tests run without Django (`pytest -p no:django`)."""

import pytest


@pytest.fixture(autouse=True)
def _local_executor_by_default():
    """Overrides the project-wide fixture of this name, which needs Django settings."""
