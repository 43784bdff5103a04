"""What each workspace role may do, and the one check the services make before changing anything.

- **reader**: sees the workspace's jobs, logs, outputs, metrics, clusters, quotas and usage.
- **contributor**: a reader who also submits jobs and cancels their own.
- **owner**: a contributor who also cancels anyone's jobs, creates and deletes clusters and sets
  the workspace's quota caps.

Admins of the workspace's subscription (and superusers) may do what an owner may in each of its
workspaces they can see; the subscription's own quotas and its Spot pool are theirs alone.

Services call ``role_require`` (pages and the API call ``role_allows`` only to hide or disable
what the user cannot use); a refusal is a ``Forbidden`` that names the role needed and the user's.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Subquery

from quotas.models import Subscription, Workspace, WorkspaceMember
from studio.errors import Forbidden

Role = WorkspaceMember.Role
OWNER, CONTRIBUTOR, READER = Role.OWNER, Role.CONTRIBUTOR, Role.READER
_RANK = {READER: 0, CONTRIBUTOR: 1, OWNER: 2}
_WHO = {OWNER: "owners", CONTRIBUTOR: "contributors and owners", READER: "members"}


def subscription_admin(*, user: AbstractBaseUser, subscription_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or Subscription.admins.through.objects.filter(
        subscription_id=subscription_id, user_id=user.id).exists()


def role_of(*, user: AbstractBaseUser, workspace: Workspace) -> str | None:
    """The user's role in the workspace as stored (None: not a member)."""
    if not user.is_authenticated:
        return None
    return WorkspaceMember.objects.filter(workspace_id=workspace.id, user_id=user.id) \
        .values_list("role", flat=True).first()


def effective_role(*, user: AbstractBaseUser, workspace: Workspace) -> str | None:
    """What the user may do in the workspace: their role, or owner for an admin of its subscription."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return OWNER
    found = Workspace.objects.filter(id=workspace.id).annotate(  # one query for both
        admin=Exists(Subscription.admins.through.objects.filter(subscription_id=OuterRef("subscription_id"),
                                                                 user_id=user.id)),
        role=Subquery(WorkspaceMember.objects.filter(workspace_id=OuterRef("id"), user_id=user.id).values("role")[:1]),
    ).values_list("admin", "role").first()
    if found is None:
        return None
    admin, role = found
    return OWNER if admin else role


def role_allows(role: str | None, needed: str) -> bool:
    return role is not None and _RANK[Role(role)] >= _RANK[Role(needed)]


def describe(role: str | None) -> str:
    """"you are a contributor", for a refusal."""
    if role is None:
        return "you are not a member of it"
    return f"you are {'an' if role == OWNER else 'a'} {Role(role).label.lower()}"


def describe_in(*, user: AbstractBaseUser, workspace: Workspace) -> str:
    """"you are a reader of workspace 'ws-1'", for a refusal that needs a subscription's admin."""
    role = role_of(user=user, workspace=workspace)
    if role is None:
        return f"you are not a member of workspace '{workspace.name}'"
    return f"{describe(role)} of workspace '{workspace.name}'"


def role_require(*, user: AbstractBaseUser, workspace: Workspace, needed: str, action: str) -> str:
    """The user's effective role, or ``Forbidden`` naming the role ``action`` needs and theirs:
    "only owners of workspace 'ws-1' can delete clusters; you are a contributor"."""
    role = effective_role(user=user, workspace=workspace)
    if not role_allows(role, needed):
        raise Forbidden(_sentence(role, workspace, needed, action), {"role_needed": str(needed), "role": role})
    return role


def _sentence(role: str | None, workspace: Workspace, needed: str, action: str) -> str:
    return f"only {_WHO[Role(needed)]} of workspace '{workspace.name}' can {action}; {describe(role)}"


def refusal(*, role: str | None, workspace: Workspace, needed: str, action: str) -> str:
    """The sentence ``role_require`` would refuse with ("" when allowed): pages show it beside a
    disabled button."""
    if role_allows(role, needed):
        return ""
    sentence = _sentence(role, workspace, needed, action)
    return sentence[0].upper() + sentence[1:] + "."
