"""Lists that refresh: the change marker endpoint, scoped like the list it speaks for."""

import pytest

from interception import services
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/admin/changes/"


def _ask(client, list_name, since):
    response = client.get(URL, {"list": list_name, "since": since})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_result_after_the_page_was_drawn_is_counted_for_customer_service(client):
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    order = factories.started()
    client.force_login(cs)
    page = client.get("/admin/interception/interceptionorder/")
    since = page.context["marker"]
    assert f'data-since="{since}"' in page.content.decode() and 'id="portal-refresh"' in page.content.decode()
    assert _ask(client, "interceptions", since)["new"] == 0
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", source="callback", reason_code="signed", reason_text="已签收"
    )
    answer = _ask(client, "interceptions", since)
    assert answer["new"] == 1 and answer["text"] == "1 条新结果，刷新" and answer["marker"] > since
    assert _ask(client, "aftersales", since)["new"] == 1  # the after-sale now needs a decision
    assert _ask(client, "dashboard", since)["new"] == 1
    assert _ask(client, "interceptions", answer["marker"])["new"] == 0


def test_outlet_staff_count_only_their_outlets_changes_and_nobody_counts_their_own(client):
    merchant, mine = factories.contract_setup()
    other_merchant, other = factories.contract_setup()
    staff = factories.outlet_staff("o1", mine)
    client.force_login(staff)
    since = _ask(client, "applications", 0)["marker"]
    factories.apply(other_merchant, other)
    assert _ask(client, "applications", since)["new"] == 0  # another outlet's application
    contract = factories.apply(merchant, mine)
    assert _ask(client, "applications", since)["new"] == 1
    if contract.state == "pending":
        since = _ask(client, "applications", since)["marker"]
        services.contract_approve(contract_id=contract.pk, actor=staff)
        assert _ask(client, "applications", since)["new"] == 0  # their own decision is not news to them


def test_a_bad_list_or_marker_is_refused_with_a_code(client):
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    assert client.get(URL, {"list": "everything", "since": "1"}).json()["code"] == "list_invalid"
    for bad in ("-1", "x", "１", ""):
        response = client.get(URL, {"list": "interceptions", "since": bad})
        assert response.status_code == 400 and response.json()["code"] == "since_invalid"


def test_the_endpoint_needs_a_login(client):
    response = client.get(URL, {"list": "interceptions", "since": "0"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
