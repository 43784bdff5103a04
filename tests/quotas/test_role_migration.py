"""Migration 0005 gives the members stored before it their new roles: an admin becomes an owner, a
member a contributor (and back again, without readers)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE, AFTER = ("quotas", "0004_queued_demand"), ("quotas", "0005_workspace_roles")


def migrate(target=None):
    """Migrate to ``target`` (every app's latest when None); the apps as of then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = [target] if target else executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_admins_become_owners_and_members_contributors(django_user_model):
    old = migrate(BEFORE)
    try:
        subscription = old.get_model("quotas", "Subscription").objects.create(name="sub-m")
        workspace = old.get_model("quotas", "Workspace").objects.create(name="ws-m", subscription=subscription)
        member = old.get_model("quotas", "WorkspaceMember")
        users = {name: django_user_model.objects.create_user(username=name) for name in ("boss", "pleb")}
        member.objects.create(workspace_id=workspace.id, user_id=users["boss"].id, role="admin")
        member.objects.create(workspace_id=workspace.id, user_id=users["pleb"].id, role="member")

        new = migrate(AFTER)
        roles = dict(new.get_model("quotas", "WorkspaceMember").objects.values_list("user__username", "role"))
        assert roles == {"boss": "owner", "pleb": "contributor"}
        back = migrate(BEFORE)
        roles = dict(back.get_model("quotas", "WorkspaceMember").objects.values_list("user__username", "role"))
        assert roles == {"boss": "admin", "pleb": "member"}
    finally:
        migrate()  # the whole schema again, for the tests after
