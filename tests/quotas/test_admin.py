"""Admins edit the VM catalogue in Django's admin."""

import pytest

from quotas.models import VmSize

pytestmark = pytest.mark.django_db


def test_it_lets_an_admin_edit_a_vm_size(client, catalogue, admin_user):
    client.force_login(admin_user)
    size = VmSize.objects.get(name="Standard_D2s_v3")
    page = client.get(f"/admin/quotas/vmsize/{size.id}/change/")
    assert page.status_code == 200
    listing = client.get("/admin/quotas/vmsize/", {"q": "D2s"})
    assert b"Standard_D2s_v3" in listing.content


def test_it_keeps_the_catalogue_from_other_users(client, catalogue, user):
    client.force_login(user)
    assert client.get("/admin/quotas/vmsize/").status_code == 302
