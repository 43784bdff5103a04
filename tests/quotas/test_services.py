"""Quotas, caps, the catalogue and clusters: the quotas app's services on the database."""

import pytest

from quotas import selectors, services
from quotas.models import QuotaFamily, SubscriptionQuota, VmSize
from studio.errors import ApplicationError, Conflict, Forbidden, NotFound

pytestmark = pytest.mark.django_db


def test_it_loads_the_shipped_catalogue_once(catalogue):
    assert VmSize.objects.count() == 70
    assert QuotaFamily.objects.filter(family_id="cores").exists()
    services.catalogue_load_defaults()
    assert VmSize.objects.count() == 70


def test_it_gives_a_new_subscription_azures_default_quotas(workspace):
    limits = dict(SubscriptionQuota.objects.filter(subscription=workspace.subscription)
                  .values_list("family_id", "limit"))
    assert limits["standardDSv3Family"] == 20 and limits["cores"] == 20
    assert limits["standardNCASv3_T4Family"] == 0
    assert workspace.subscription.spot_vcpu_limit == 20


def test_it_sets_a_family_quota(user, workspace):
    services.quota_set(user=user, subscription=workspace.subscription, family_id="standardDSv3Family", limit=48)
    family = next(f for f in selectors.quota_list(workspace=workspace)["families"]
                  if f["family"] == "standardDSv3Family")
    assert family["subscription_limit"] == 48 and family["workspace_limit"] is None


def test_it_never_lets_a_workspace_cap_exceed_the_subscription(user, workspace):
    with pytest.raises(ApplicationError, match="cannot exceed the subscription's quota \\(20 vCPUs"):
        services.quota_set(user=user, subscription=workspace.subscription, family_id="standardDSv3Family",
                           limit=21, workspace=workspace)
    services.quota_set(user=user, subscription=workspace.subscription, family_id="standardDSv3Family", limit=8,
                       workspace=workspace)
    with pytest.raises(Conflict, match="ws-1 \\(8\\)"):
        services.quota_set(user=user, subscription=workspace.subscription, family_id="standardDSv3Family", limit=4)


def test_it_names_the_closest_family(user, workspace):
    with pytest.raises(NotFound, match="did you mean standardDSv3Family"):
        services.quota_set(user=user, subscription=workspace.subscription, family_id="standardDSv3Famly", limit=4)


def test_it_refuses_negative_limits_and_non_admins(user, workspace, django_user_model):
    with pytest.raises(ApplicationError, match="0 or more"):
        services.quota_set(user=user, subscription=workspace.subscription, family_id="cores", limit=-1)
    member = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    with pytest.raises(Forbidden, match="only admins"):
        services.quota_set(user=member, subscription=workspace.subscription, family_id="cores", limit=100)


def test_it_creates_clusters_with_valid_shapes_only(user, workspace):
    cluster = services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2",
                                      min_instances=0, max_instances=2, idle_seconds=60)
    assert cluster.size.vcpus == 4
    with pytest.raises(Conflict):
        services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_DS3_v2")
    with pytest.raises(ApplicationError, match="did you mean Standard_DS3_v2"):
        services.cluster_create(user=user, workspace=workspace, name="cpu-c2", size="Standard_DS3_v9")
    with pytest.raises(ApplicationError, match="min_instances: 3 is more than max_instances"):
        services.cluster_create(user=user, workspace=workspace, name="cpu-c3", size="Standard_DS3_v2",
                                min_instances=3, max_instances=2)
    with pytest.raises(ApplicationError, match="reserved"):
        services.cluster_create(user=user, workspace=workspace, name="serverless", size="Standard_DS3_v2")
