"""Jobs in the real sandbox, run by the live studio."""

from tests.runtime.conftest import bwrap  # noqa: F401  (the real bubblewrap, or a skip that says why)
from tests.tracking.conftest import studio  # noqa: F401  (the live studio, as nodes reach it)
