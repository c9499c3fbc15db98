import pytest

from interception.models import Contract
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(db):
    a, b = factories.OutletFactory(code="A-1"), factories.OutletFactory(code="B-1")
    ma, _ = factories.contract_setup(outlet=a)
    mb, _ = factories.contract_setup(outlet=b)
    return {
        "a": a,
        "b": b,
        "ca": factories.apply(ma, a),
        "cb": factories.apply(mb, b),
        "staff_a": factories.outlet_staff("staff_a", a),
    }


def change_url(contract):
    return f"/admin/interception/contract/{contract.pk}/change/"


def test_outlet_staff_queue_lists_only_their_outlets(client, queue):
    client.force_login(queue["staff_a"])
    page = client.get("/admin/interception/contract/").content.decode()
    assert change_url(queue["ca"]) in page and change_url(queue["cb"]) not in page


def test_outlet_a_cannot_open_or_decide_outlet_b_application_by_url(client, queue):
    client.force_login(queue["staff_a"])
    cb = queue["cb"]
    assert client.get(change_url(cb)).status_code == 302  # "doesn't exist" redirect
    assert client.post(f"/admin/interception/contract/{cb.pk}/do/approve/", {"reason": ""}).status_code == 404
    cb.refresh_from_db()
    assert cb.state == "pending"


def test_approve_button_on_change_page_approves(client, queue):
    client.force_login(queue["staff_a"])
    page = client.get(change_url(queue["ca"])).content.decode()
    assert f"/admin/interception/contract/{queue['ca'].pk}/do/approve/" in page
    response = client.post(f"/admin/interception/contract/{queue['ca'].pk}/do/approve/", {"reason": ""})
    assert response.status_code == 302
    queue["ca"].refresh_from_db()
    assert queue["ca"].state == Contract.State.ACTIVE


def test_reject_button_requires_reason(client, queue):
    client.force_login(queue["staff_a"])
    url = f"/admin/interception/contract/{queue['ca'].pk}/do/reject/"
    assert client.post(url, {"reason": ""}).status_code == 200  # the form again, with the error
    queue["ca"].refresh_from_db()
    assert queue["ca"].state == "pending"
    client.post(url, {"reason": "no capacity"})
    queue["ca"].refresh_from_db()
    assert (queue["ca"].state, queue["ca"].reject_reason) == ("rejected", "no capacity")


def test_bulk_approve_confirms_then_reports_each_application(client, queue):
    second_merchant, _ = factories.contract_setup(outlet=queue["a"])
    second = factories.apply(second_merchant, queue["a"])
    client.force_login(queue["staff_a"])
    ids = [queue["ca"].pk, second.pk]
    confirm = client.post("/admin/interception/contract/", {"action": "bulk_approve", "_selected_action": ids})
    assert confirm.status_code == 200 and "confirmed" in confirm.content.decode()
    assert Contract.objects.get(pk=ids[0]).state == "pending"  # nothing before the confirmation
    result = client.post(
        "/admin/interception/contract/",
        {"action": "bulk_approve", "_selected_action": ids, "confirmed": "yes", "reason": ""},
    )
    body = result.content.decode()
    assert "2" in body and Contract.objects.filter(pk__in=ids, state="active").count() == 2


def test_bulk_action_cannot_reach_another_outlet(client, queue):
    client.force_login(queue["staff_a"])
    client.post(
        "/admin/interception/contract/",
        {"action": "bulk_approve", "_selected_action": [queue["cb"].pk], "confirmed": "yes", "reason": ""},
    )
    queue["cb"].refresh_from_db()
    assert queue["cb"].state == "pending"


def test_bulk_reject_without_reason_applies_nothing(client, queue):
    client.force_login(queue["staff_a"])
    response = client.post(
        "/admin/interception/contract/",
        {"action": "bulk_reject", "_selected_action": [queue["ca"].pk], "confirmed": "yes", "reason": ""},
    )
    assert response.status_code == 200
    queue["ca"].refresh_from_db()
    assert queue["ca"].state == "pending"


def test_cs_applies_through_the_admin_form(client):
    merchant, outlet = factories.contract_setup()
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    response = client.post(
        "/admin/interception/contract/apply/",
        {
            "merchant": merchant.pk,
            "platform": merchant.platform.pk,
            "carrier": outlet.carrier.pk,
            "outlets": [outlet.pk],
            "mode": "offline",
            "fee": "4.00",
        },
    )
    assert response.status_code == 200
    assert Contract.objects.get(merchant=merchant).state == "pending"
    again = client.post(
        "/admin/interception/contract/apply/",
        {
            "merchant": merchant.pk,
            "platform": merchant.platform.pk,
            "carrier": outlet.carrier.pk,
            "outlets": [outlet.pk],
            "mode": "offline",
            "fee": "4.00",
        },
    ).content.decode()
    assert "exists already" in again or "已存在" in again


def test_outlet_staff_cannot_apply(client, queue):
    client.force_login(queue["staff_a"])
    assert client.get("/admin/interception/contract/apply/").status_code == 403


def test_supervisor_sees_pending_counts_per_outlet(client, queue):
    client.force_login(factories.user("sup", roles.SUPERVISOR))
    page = client.get("/admin/interception/contract/pending-by-outlet/").content.decode()
    assert "A-1" in page and "B-1" in page


def test_pending_counts_for_outlet_staff_are_scoped(client, queue):
    client.force_login(queue["staff_a"])
    page = client.get("/admin/interception/contract/pending-by-outlet/").content.decode()
    assert "A-1" in page and "B-1" not in page


def test_merchant_page_records_agreement(client):
    merchant = factories.MerchantFactory()
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    url = f"/admin/interception/merchant/{merchant.pk}/do/sign-agreement/"
    assert url in client.get(f"/admin/interception/merchant/{merchant.pk}/change/").content.decode()
    client.post(url)
    assert merchant.agreements.count() == 1
