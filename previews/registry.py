"""The preview features the studio knows. Pages ask `preview_enabled(user, key)`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preview:
    key: str
    name: str
    description: str
    stage: str = "Preview"
    default: bool = False


SERVERLESS = "serverless-compute"

REGISTRY: dict[str, Preview] = {
    p.key: p
    for p in [
        Preview(
            SERVERLESS,
            "Serverless compute",
            "Run training jobs without creating a compute cluster: choose Serverless as the compute in the "
            "job submission wizard and the designer, and the studio picks a VM size you have quota for.",
        ),
    ]
}
