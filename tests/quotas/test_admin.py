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


def test_it_edits_a_workspaces_members_with_the_three_roles(client, admin_user, workspace, user, make_user):
    from quotas.models import WorkspaceMember

    grace = make_user("grace")
    client.force_login(admin_user)
    url = f"/admin/quotas/workspace/{workspace.id}/change/"
    page = client.get(url).content.decode()
    choices = [value for value in ("owner", "contributor", "reader") if f'<option value="{value}"' in page]
    assert choices == ["owner", "contributor", "reader"] and 'value="admin"' not in page
    ada = WorkspaceMember.objects.get(workspace=workspace, user=user)
    saved = client.post(url, {
        "name": workspace.name, "subscription": workspace.subscription_id, "region": workspace.region,
        "display_name": "", "workspacemember_set-TOTAL_FORMS": "2", "workspacemember_set-INITIAL_FORMS": "1",
        "workspacemember_set-0-id": ada.id, "workspacemember_set-0-workspace": workspace.id,
        "workspacemember_set-0-user": user.id, "workspacemember_set-0-role": "owner",
        "workspacemember_set-1-workspace": workspace.id, "workspacemember_set-1-user": grace.id,
        "workspacemember_set-1-role": "reader",
    })
    assert saved.status_code == 302, saved.content.decode()[:3000]
    assert WorkspaceMember.objects.get(workspace=workspace, user=grace).role == "reader"
