"""Azure ML CLI v2 job specs: YAML in, typed immutable objects out (pure Python, no Django).

    spec = load_command_job(text, source="job.yml", base_dir=Path("."), overrides=["limits.timeout=60"])
    result = validate_file("job.yml")   # never raises; result.to_dict() for the API/CLI

Errors are SpecError, whose `issues` each carry the field path, line, column and a fix.
"""

from .command import CommandJobSpec, load_command_job
from .errors import SpecError, SpecIssue
from .expressions import references, resolve_command
from .fields import FrozenDict
from .kinds import KINDS, detect_kind
from .parts import (
    BuildSpec,
    DistributionSpec,
    EnvironmentSpec,
    IdentitySpec,
    InputSpec,
    LimitsSpec,
    OutputSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    ServiceSpec,
)
from .paths import is_remote, local_path
from .validation import ValidationResult, validate_file

__all__ = [
    "KINDS",
    "BuildSpec",
    "CommandJobSpec",
    "DistributionSpec",
    "EnvironmentSpec",
    "FrozenDict",
    "IdentitySpec",
    "InputSpec",
    "LimitsSpec",
    "OutputSpec",
    "QueueSettingsSpec",
    "ResourcesSpec",
    "ServiceSpec",
    "SpecError",
    "SpecIssue",
    "ValidationResult",
    "detect_kind",
    "is_remote",
    "load_command_job",
    "local_path",
    "references",
    "resolve_command",
    "validate_file",
]
