"""The only code that changes subscriptions and workspaces."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from quotas.models import Subscription, Workspace, WorkspaceMember


@transaction.atomic
def workspace_ensure(*, subscription_name: str, workspace_name: str, admin: AbstractBaseUser) -> Workspace:
    """Create (or reuse) a subscription and workspace administered by ``admin``."""
    subscription, _ = Subscription.objects.get_or_create(name=subscription_name)
    subscription.admins.add(admin)
    workspace, _ = Workspace.objects.get_or_create(name=workspace_name, defaults={"subscription": subscription})
    WorkspaceMember.objects.update_or_create(
        workspace=workspace, user=admin, defaults={"role": WorkspaceMember.Role.ADMIN}
    )
    return workspace
