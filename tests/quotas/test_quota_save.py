"""quota_save: a family's subscription limit and a workspace's cap, checked together, written together."""

from __future__ import annotations

import pytest

from quotas.models import SubscriptionQuota, WorkspaceMember, WorkspaceQuota
from quotas.services import quota_save, quota_set, workspace_ensure
from studio.errors import ApplicationError, Conflict, Forbidden, NotFound

pytestmark = pytest.mark.django_db

DSV3 = "standardDSv3Family"


def limits(workspace, family=DSV3) -> tuple[int, int | None]:
    limit = SubscriptionQuota.objects.get(subscription=workspace.subscription, family_id=family).limit
    cap = WorkspaceQuota.objects.filter(workspace=workspace, family_id=family).values_list("limit", flat=True).first()
    return limit, cap


def test_it_raises_both_in_one_save(user, workspace):
    assert quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=48, workspace_cap=40)
    assert limits(workspace) == (48, 40)


def test_it_lowers_both_in_one_save_whatever_the_order_would_need(user, workspace):
    quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=48, workspace_cap=40)
    assert quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=4, workspace_cap=4)
    assert limits(workspace) == (4, 4)


def test_a_cap_above_the_new_limit_saves_neither(user, workspace):
    with pytest.raises(ApplicationError) as refused:
        quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=30, workspace_cap=40)
    assert refused.value.message == (
        "limit: a workspace cap cannot exceed the subscription's quota (30 vCPUs of standardDSv3Family); set 30 or "
        "less, or raise the subscription's quota first")
    assert refused.value.extra == {"field": "limit", "subscription_limit": 30}
    assert limits(workspace) == (20, None)  # the limit alone would have been fine: not kept either


def test_a_limit_below_another_workspaces_cap_names_it(user, workspace):
    other = workspace_ensure(subscription_name="sub-1", workspace_name="ws-2", admin=user)
    quota_set(user=user, subscription=workspace.subscription, family_id=DSV3, limit=12, workspace=other)
    quota_set(user=user, subscription=workspace.subscription, family_id=DSV3, limit=8, workspace=workspace)

    with pytest.raises(Conflict, match=r"workspace caps above 6 vCPUs exist for standardDSv3Family: ws-2 \(12\); "
                                       "lower them first"):
        quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=6, workspace_cap=6)
    assert limits(workspace) == (20, 8) and limits(other) == (20, 12)

    with pytest.raises(Conflict, match=r"ws-1 \(8\), ws-2 \(12\)"):  # its own cap, left as it is, counts too
        quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=6)


def test_none_leaves_a_value_as_it_is_and_no_change_is_no_write(user, workspace):
    quota_save(user=user, workspace=workspace, family_id=DSV3, workspace_cap=8)
    assert limits(workspace) == (20, 8)
    quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=24)
    assert limits(workspace) == (24, 8)

    assert quota_save(user=user, workspace=workspace, family_id=DSV3, subscription_limit=24, workspace_cap=8) is False
    assert quota_save(user=user, workspace=workspace, family_id=DSV3) is False


@pytest.mark.parametrize("values, error, message", [
    ({"subscription_limit": -1}, ApplicationError, "limit: a quota is a whole number of vCPUs, 0 or more"),
    ({"workspace_cap": "8"}, ApplicationError, "limit: a quota is a whole number of vCPUs, 0 or more"),
    ({"workspace_cap": True}, ApplicationError, "limit: a quota is a whole number of vCPUs, 0 or more"),
    ({"family_id": "standardDSv3Famly", "subscription_limit": 4}, NotFound, "did you mean standardDSv3Family"),
    ({"family_id": "cores", "workspace_cap": 4}, ApplicationError,
     "family: the total regional vCPU quota is set for the subscription only"),
])
def test_bad_input_names_the_field_and_changes_nothing(user, workspace, values, error, message):
    arguments = {"family_id": DSV3, "subscription_limit": 30, **values}
    with pytest.raises(error, match=message):
        quota_save(user=user, workspace=workspace, **arguments)
    assert limits(workspace) == (20, None) and limits(workspace, "cores") == (20, None)


def test_only_the_subscriptions_admins_may_save(workspace, django_user_model):
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    WorkspaceMember.objects.create(workspace=workspace, user=bob)  # a member, not an admin
    with pytest.raises(Forbidden, match="only admins of subscription 'sub-1' can change its quotas"):
        quota_save(user=bob, workspace=workspace, family_id=DSV3, subscription_limit=999, workspace_cap=5)
    assert limits(workspace) == (20, None)
