"""Create (or reuse) the demo subscription, workspace and admin user, and save a CLI profile."""

import json
import secrets

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
        login_file = settings.BASE_DIR / "var" / "demo-login.json"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=username, password=password, is_staff=True, is_superuser=True)
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(json.dumps({"username": username, "password": password}))
            login_file.chmod(0o600)
        elif login_file.exists():
            password = json.loads(login_file.read_text()).get("password", "(unchanged)")
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
