#!/usr/bin/env python3
"""The two set-up commands of Serverless Studio. Needs only Python 3.11+.

    python3 dev.py run     create .venv, install, migrate, create the demo login, start the studio
    python3 dev.py test    install the test dependencies and run the whole suite

Anything after ``test`` is passed to pytest (``python3 dev.py test -k cancel``).

    python3 dev.py worker [celery options]   a Celery worker for this studio (when
                                             CELERY_BROKER_URL is set), with the same settings
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
VAR = ROOT / "var"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project (again only when pyproject.toml changed)."""
    if sys.version_info < (3, 11):
        sys.exit(f"Serverless Studio needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say("installing dependencies into .venv (first run takes a minute)")
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(wanted)


def secret_key() -> str:
    """A per-checkout secret kept in var/ (never committed), unless SECRET_KEY is set."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret-key"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def manage(*args: str, env: dict) -> None:
    subprocess.run([str(PY), "manage.py", *args], check=True, cwd=ROOT, env=env)


def run() -> None:
    ensure_venv("")
    env = {**os.environ, "SECRET_KEY": secret_key()}
    VAR.mkdir(exist_ok=True)
    say("migrating the database")
    manage("migrate", "--verbosity", "0", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    manage("studio_setup", env=env)
    say("starting the studio")
    os.chdir(ROOT)
    os.execve(str(PY), [str(PY), "manage.py", "runstudio"], env)


def test(pytest_args: list[str]) -> None:
    ensure_venv("test")
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key")}
    result = subprocess.run([str(PY), "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
    sys.exit(result.returncode)


def worker(celery_args: list[str]) -> None:
    """A Celery worker with the settings `run` uses (the same SECRET_KEY signs job tokens)."""
    ensure_venv("")
    if not os.environ.get("CELERY_BROKER_URL"):
        sys.exit("set CELERY_BROKER_URL (and DATABASE_URL, STUDIO_DATA_DIR) as for `dev.py run` first")
    env = {**os.environ, "SECRET_KEY": secret_key()}
    celery = VENV / ("Scripts/celery.exe" if os.name == "nt" else "bin/celery")
    os.chdir(ROOT)
    os.execve(str(celery), [str(celery), "-A", "studio", "worker", *celery_args], env)


def main() -> None:
    commands = {"run": lambda: run(), "test": lambda: test(sys.argv[2:]), "worker": lambda: worker(sys.argv[2:])}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
