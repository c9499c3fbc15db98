"""Outlet staff are outsiders: outlet A's user never reaches outlet B's network data."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_outlet_staff_list_only_their_outlets_in_admin(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    page = client.get("/admin/interception/outlet/")
    assert page.status_code == 200
    assert "A-001" in page.content.decode() and "B-001" not in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/interception/outlet/{b.pk}/change/",
        "/admin/interception/merchant/{account_b.merchant.pk}/change/",
        "/admin/interception/ewaybillaccount/{account_b.pk}/change/",
        "/admin/interception/outletmembership/{membership_b.pk}/change/",
    ],
)
def test_outlet_a_cannot_open_outlet_b_objects_by_url(client, two_outlets, url):
    membership_b = two_outlets["staff_b"].outlet_memberships.get()
    client.force_login(two_outlets["staff_a"])
    response = client.get(url.format(membership_b=membership_b, **two_outlets), follow=True)
    # The admin answers a hidden object by redirecting to the index with "doesn't exist".
    assert response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"
    assert two_outlets["b"].name not in response.content.decode()


def test_outlet_a_sees_its_own_objects_by_url(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    a = two_outlets["account_a"]
    for url in [
        f"/admin/interception/outlet/{two_outlets['a'].pk}/change/",
        f"/admin/interception/merchant/{a.merchant.pk}/change/",
        f"/admin/interception/ewaybillaccount/{a.pk}/change/",
    ]:
        assert client.get(url).status_code == 200, url


def test_outlet_staff_lists_of_merchants_accounts_and_memberships_are_scoped(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    merchants = client.get("/admin/interception/merchant/").content.decode()
    assert two_outlets["account_a"].merchant.code in merchants
    assert two_outlets["account_b"].merchant.code not in merchants
    accounts = client.get("/admin/interception/ewaybillaccount/").content.decode()
    assert two_outlets["account_b"].merchant.code not in accounts
    memberships = client.get("/admin/interception/outletmembership/").content.decode()
    assert "staff_a" in memberships and "staff_b" not in memberships


def test_autocomplete_does_not_leak_other_outlets(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    response = client.get(
        "/admin/autocomplete/",
        {"term": "网点", "app_label": "interception", "model_name": "ewaybillaccount", "field_name": "outlet"},
    )
    ids = {row["id"] for row in response.json().get("results", [])} if response.status_code == 200 else set()
    assert str(two_outlets["b"].pk) not in ids


@pytest.mark.parametrize(
    "endpoint, key",
    [
        ("outlets", "b"),
        ("ewaybill-accounts", "account_b"),
    ],
)
def test_api_lists_and_details_are_scoped(api, two_outlets, endpoint, key):
    client = api(two_outlets["staff_a"])
    listed = client.get(f"/api/v1/{endpoint}/").json()["results"]
    assert two_outlets[key].pk not in {row["id"] for row in listed}
    assert len(listed) == 1
    detail = client.get(f"/api/v1/{endpoint}/{two_outlets[key].pk}/")
    assert detail.status_code == 404
    assert detail.json()["code"] == "not_found"


def test_api_merchants_and_memberships_are_scoped(api, two_outlets):
    client = api(two_outlets["staff_a"])
    merchant_b = two_outlets["account_b"].merchant
    assert client.get(f"/api/v1/merchants/{merchant_b.pk}/").status_code == 404
    codes = {row["code"] for row in client.get("/api/v1/merchants/").json()["results"]}
    assert codes == {two_outlets["account_a"].merchant.code}
    users = {row["user"] for row in client.get("/api/v1/outlet-memberships/").json()["results"]}
    assert users == {"staff_a"}


def test_merchant_api_client_sees_only_its_own_merchant(api, two_outlets):
    merchant = two_outlets["account_a"].merchant
    client = api(factories.api_client_for(merchant=merchant))
    assert [row["code"] for row in client.get("/api/v1/merchants/").json()["results"]] == [merchant.code]
    assert [row["id"] for row in client.get("/api/v1/outlets/").json()["results"]] == [two_outlets["a"].pk]
    assert client.get("/api/v1/outlet-memberships/").json()["results"] == []


def test_api_without_token_is_refused_with_a_code(client):
    response = client.get("/api/v1/outlets/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_staff_roles_see_every_outlet(api, two_outlets):
    from portal import roles

    client = api(factories.user("cs1", roles.CUSTOMER_SERVICE))
    assert {row["code"] for row in client.get("/api/v1/outlets/").json()["results"]} >= {"A-001", "B-001"}


def test_user_without_role_sees_nothing(api, two_outlets):
    client = api(factories.user("nobody"))
    assert client.get("/api/v1/outlets/").json()["results"] == []


@pytest.mark.parametrize(
    "changelist", ["interception_interceptionorder", "interception_contract", "settlement_statement", "claims_claim"]
)
def test_an_outlet_filter_naming_another_outlet_shows_nothing_of_it(client, two_outlets, changelist):
    """?outlet__id__exact=<another outlet> once printed that outlet's name and code in the filter's label."""
    client.force_login(two_outlets["staff_a"])
    other = two_outlets["b"]
    response = client.get(reverse(f"admin:{changelist}_changelist") + f"?outlet__id__exact={other.pk}")
    assert response.status_code == 200
    text = response.content.decode()
    assert other.name not in text and other.code not in text
    own = client.get(reverse(f"admin:{changelist}_changelist") + f"?outlet__id__exact={two_outlets['a'].pk}")
    assert two_outlets["a"].name in own.content.decode()
