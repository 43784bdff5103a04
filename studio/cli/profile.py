"""The CLI profile: where the studio is and how to sign in.

A JSON file ``{"url": ..., "token": ..., "workspace": ...}`` at ``$STUDIO_CONFIG`` if set, else
``~/.config/serverless-studio/profile.json``. The server's setup command writes it with
``save_profile``; this module uses the standard library only so both sides can import it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def profile_path() -> Path:
    configured = os.environ.get("STUDIO_CONFIG")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "serverless-studio" / "profile.json"


def load_profile() -> dict:
    """The saved profile, or ``{}`` when there is none. A broken file raises ``ValueError``."""
    path = profile_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ValueError(f"cannot read the studio profile {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the studio profile {path} is not valid JSON ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ValueError(f"the studio profile {path} must hold a JSON object")
    return {key: data.get(key) for key in ("url", "token", "workspace") if data.get(key)}


def save_profile(url: str, token: str, workspace: str | None = None) -> Path:
    """Write the profile atomically, readable by its owner only; returns its path."""
    path = profile_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"url": url, "token": token, "workspace": workspace}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".profile-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
