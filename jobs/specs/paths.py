"""Telling local paths from remote URIs in spec values (`code`, input paths, environments)."""

from __future__ import annotations

import re
from pathlib import Path

# A URI scheme of two or more characters (so a Windows drive such as C: stays local):
# azureml:, azureml://, http(s)://, wasbs://, abfss://, git+https://, runs:/ ...
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+:")
_ARM_ID = "/subscriptions/"


def is_remote(value: str) -> bool:
    """True for anything the studio fetches rather than reads from the user's disk."""
    if value.lower().startswith("file:"):
        return False
    return bool(_SCHEME.match(value)) or value.startswith(_ARM_ID)


def local_path(base_dir: Path | str, value: str) -> Path | None:
    """The absolute local path `value` names relative to `base_dir`, or None if it is remote.

    `file:` prefixes are removed; the filesystem is only touched to resolve symlinks.
    """
    if not isinstance(value, str) or not value.strip() or is_remote(value):
        return None
    if value.lower().startswith("file:"):
        value = value[len("file:"):]
        if value.startswith("//"):
            value = value[2:]
    return (Path(base_dir) / value).resolve()
