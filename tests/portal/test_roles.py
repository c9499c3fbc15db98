import pytest
from django.contrib.auth.models import Group

from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


def perms(role):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()}


def test_the_four_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.CUSTOMER_SERVICE,
        roles.OUTLET_STAFF,
        roles.FINANCE,
        roles.SUPERVISOR,
    }


def test_outlet_staff_may_look_but_not_change_the_network():
    granted = perms(roles.OUTLET_STAFF)
    assert "interception.view_outlet" in granted
    assert not any(
        p.split(".")[1].startswith(("change_", "delete_"))
        for p in granted
        if p.split(".")[1].endswith(("outlet", "merchant", "platform", "carrier"))
    )
    assert "interception.view_platform" not in granted  # platform rules are not theirs


def test_only_supervisor_configures_platforms_and_carriers():
    assert "interception.change_platform" in perms(roles.SUPERVISOR)
    assert "interception.change_carrier" in perms(roles.SUPERVISOR)
    for role in (roles.CUSTOMER_SERVICE, roles.FINANCE, roles.OUTLET_STAFF):
        assert "interception.change_platform" not in perms(role)


def test_sync_is_idempotent_and_repairs_drift():
    group = Group.objects.get(name=roles.FINANCE)
    before = perms(roles.FINANCE)
    group.permissions.clear()
    roles.sync_roles()
    roles.sync_roles()
    assert perms(roles.FINANCE) == before
    assert Group.objects.filter(name=roles.FINANCE).count() == 1


def test_supervisor_can_open_the_platform_admin_and_cs_cannot_change_it(client):
    platform = factories.platform()
    client.force_login(factories.user("sup", roles.SUPERVISOR))
    assert client.get(f"/admin/interception/platform/{platform.pk}/change/").status_code == 200
    client.force_login(factories.user("cs1", roles.CUSTOMER_SERVICE))
    response = client.post(f"/admin/interception/platform/{platform.pk}/change/", {"name": "x"})
    assert response.status_code == 403


def test_a_users_own_and_role_permissions_are_read_in_one_query(django_user_model, django_assert_num_queries):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("mixed", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.FINANCE))
    user.user_permissions.add(Permission.objects.get(codename="view_carrier"))
    user = django_user_model.objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        granted = user.get_all_permissions()
        assert user.has_perm("interception.view_carrier") and user.has_perm("settlement.view_statement")
    assert granted == perms(roles.FINANCE) | {"interception.view_carrier"}
