"""Create (or reuse) the demo subscription, workspace and admin user, and save a CLI profile.

The demo password is kept in ``STUDIO_DEMO_LOGIN_FILE`` (``var/demo-login.json``) so that the next
``dev.py run`` can print it again. That file and the database can part ways (another database, a
benchmark's or a test's run of this command, a password changed since): a saved password that does
not sign the user in is never printed; it is said so, and the password is reset.
"""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from quotas.services import workspace_ensure
from studio.cli.profile import profile_path, save_profile


class Command(BaseCommand):
    help = "Create the demo user, subscription and workspace (idempotent), print the login and save a CLI profile."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--subscription", default="demo-subscription")
        parser.add_argument("--workspace", default="demo-workspace")
        parser.add_argument("--url", default=f"http://127.0.0.1:{settings.PORT}")
        parser.add_argument("--no-profile", action="store_true", help="do not write the CLI profile")

    def handle(self, *args, username, subscription, workspace, url, no_profile, **options):
        User = get_user_model()
        login_file = Path(settings.STUDIO_DEMO_LOGIN_FILE)
        user = User.objects.filter(username=username).first()
        saved = _saved_password(login_file, username)
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=username, password=password, is_staff=True, is_superuser=True)
            _save(login_file, username, password)
        elif saved is not None and user.check_password(saved):
            password = saved
        elif login_file.exists():
            self.stderr.write(self.style.WARNING(
                f"The demo login saved in {login_file} does not sign '{username}' in to this database (it was "
                "saved for another database, or the password has changed since); its password has been reset."))
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
            _save(login_file, username, password)
        else:
            password = f"(unchanged; reset it with: manage.py changepassword {username})"
        ws = workspace_ensure(subscription_name=subscription, workspace_name=workspace, admin=user)
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"Studio:     {url}")
        self.stdout.write(f"Login:      {username} / {password}")
        self.stdout.write(f"API token:  {token.key}")
        self.stdout.write(f"Workspace:  {ws.name} (subscription {ws.subscription.name})")
        if not no_profile:
            save_profile(url=url, token=token.key, workspace=ws.name)
            self.stdout.write(f"CLI profile saved to {profile_path()}: try .venv/bin/studio job list")


def _saved_password(login_file: Path, username: str) -> str | None:
    """The password saved for ``username``; None when there is none (or the file is unreadable)."""
    try:
        saved = json.loads(login_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("username") != username or not isinstance(saved.get("password"), str):
        return None
    return saved["password"]


def _save(login_file: Path, username: str, password: str) -> None:
    login_file.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(json.dumps({"username": username, "password": password}))
    login_file.chmod(0o600)  # also when the file was already there
