"""The parcel, after-sale and interception API: shapes, codes and scoping (R12)."""

import pytest

from interception import services
from interception.models import InterceptionOrder, Merchant, Parcel
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    contract = factories.active_contract(carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    client_user = factories.api_client_for(merchant=contract.merchant)
    return contract, client_user


def parcel_body(contract, tracking="JT900001", **over):
    body = {
        "carrier": "jt",
        "outlet": contract.outlet.code,
        "tracking_number": tracking,
        "order_number": "O-900",
        "goods": [{"name": "保温杯", "category": "general", "quantity": 2, "specification": "500ml", "value": "59.90"}],
    }
    body.update(over)
    return body


def test_merchant_client_posts_a_parcel_then_an_after_sale_then_starts_the_interception(api, setup):
    contract, client_user = setup
    client = api(client_user)
    response = client.post("/api/v1/parcels/", parcel_body(contract), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["logistics_status"] == "no_tracking"
    assert response.json()["goods"][0]["value"] == "59.90"
    factories.track(Parcel.objects.get(tracking_number="JT900001"), "in_transit")
    response = client.post(
        "/api/v1/after-sales/",
        {"number": "KS-1", "carrier": "jt", "tracking_number": "jt900001", "kind": "refund_only", "amount": "59.90"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["interception"] is None
    response = client.post("/api/v1/interceptions/", {"after_sale": "KS-1"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["via"] == "api" and response.json()["fee"] == "5.00"
    order_id = response.json()["id"]
    detail = client.get(f"/api/v1/interceptions/{order_id}/").json()
    assert [e["transition"] for e in detail["timeline"]] == ["request"]
    assert detail["parcel"]["tracking_number"] == "JT900001"


def test_refused_interception_is_422_with_every_eligibility_code(api, setup):
    contract, client_user = setup
    parcel = factories.parcel_for(contract, status="signed", category="virtual")
    after_sale = factories.after_sale_for(parcel, amount="600.00")
    response = api(client_user).post("/api/v1/interceptions/", {"after_sale": after_sale.number}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "not_eligible"
    assert [e["code"] for e in body["errors"]] == ["signed", "refund_over_cap", "goods_category_blocked"]
    assert not InterceptionOrder.objects.exists()


def test_after_sale_with_auto_intercept_reports_the_interception_or_why_not(api, setup):
    contract, client_user = setup
    Merchant.objects.filter(pk=contract.merchant_id).update(auto_intercept=True)
    parcel = factories.parcel_for(contract)
    response = api(client_user).post(
        "/api/v1/after-sales/",
        {
            "number": "KS-AUTO",
            "carrier": "jt",
            "tracking_number": parcel.tracking_number,
            "kind": "refund_only",
            "amount": "20.00",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["state"] == "intercepting" and response.json()["interception"]["via"] == "auto"
    blocked = factories.parcel_for(contract, status="out_for_delivery")
    response = api(client_user).post(
        "/api/v1/after-sales/",
        {
            "number": "KS-AUTO-2",
            "carrier": "jt",
            "tracking_number": blocked.tracking_number,
            "kind": "refund_only",
            "amount": "20.00",
        },
        format="json",
    )
    assert response.json()["interception"] is None
    assert [p["code"] for p in response.json()["auto_intercept_refused"]] == ["out_for_delivery"]


def test_bad_parcel_input_is_400_with_the_field_and_nothing_saved(api, setup):
    contract, client_user = setup
    client = api(client_user)
    response = client.post("/api/v1/parcels/", parcel_body(contract, goods=[]), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "goods"
    response = client.post(
        "/api/v1/parcels/", parcel_body(contract, goods=[{"name": "x", "value": "-1"}]), format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "goods[0].value"
    response = client.post("/api/v1/parcels/", parcel_body(contract, outlet="NOPE"), format="json")
    assert response.status_code == 400 and response.json()["code"] == "outlet_unknown"
    client.post("/api/v1/parcels/", parcel_body(contract), format="json")
    again = client.post("/api/v1/parcels/", parcel_body(contract), format="json")
    assert again.status_code == 409 and again.json()["code"] == "parcel_exists"


def test_merchant_client_cannot_act_for_another_merchant(api, setup):
    contract, client_user = setup
    other = factories.active_contract(carrier_code="jt")
    response = api(client_user).post(
        "/api/v1/parcels/", parcel_body(other, merchant=other.merchant.code), format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "merchant_unknown"
    theirs = factories.after_sale_for(factories.parcel_for(other))
    response = api(client_user).post("/api/v1/interceptions/", {"after_sale": theirs.number}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "after_sale_unknown"
    their_order = factories.started(factories.interceptable())
    assert api(client_user).get(f"/api/v1/interceptions/{their_order.pk}/").status_code == 404
    assert api(client_user).get("/api/v1/after-sales/").json()["results"] == []


def test_interception_list_filters_like_the_changelist(api, setup):
    contract, _client = setup
    cs = factories.user("cs-api", "Customer service")
    one = factories.started(factories.after_sale_for(factories.parcel_for(contract)))
    two = factories.started(factories.after_sale_for(factories.parcel_for(contract)))
    services.interception_record_result(
        order_id=two.pk, actor=None, result="failed", reason_code="signed", source="callback"
    )
    client = api(cs)

    def ids(query):
        response = client.get(f"/api/v1/interceptions/?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("state=failed") == {two.pk}
    assert ids("carrier=jt&platform=kuaishou&mode=offline") == {one.pk, two.pk}
    assert ids(f"outlet={contract.outlet_id}") == {one.pk, two.pk}
    assert ids(f"tracking_number={one.tracking_number.lower()}") == {one.pk}
    assert ids(f"tracking_number={one.tracking_number[:4]}*") >= {one.pk, two.pk}
    assert ids("mode=online") == set()
    assert ids("created_after=2999-01-01T00:00:00%2B08:00") == set()


def test_outlet_staff_and_carrier_clients_see_only_their_own_interceptions(api):
    order_a = factories.started(factories.interceptable())
    order_b = factories.started(factories.interceptable())
    staff = factories.outlet_staff("staff-orders", order_a.outlet)
    client = api(staff)
    listed = {row["id"] for row in client.get("/api/v1/interceptions/").json()["results"]}
    assert listed == {order_a.pk}
    assert client.get(f"/api/v1/interceptions/{order_b.pk}/").status_code == 404
    assert client.get("/api/v1/after-sales/").json()["results"] == []
    assert client.post(
        "/api/v1/interceptions/", {"after_sale": order_a.after_sale.number}, format="json"
    ).status_code in (400, 403)
    zto_client = factories.api_client_for(carrier=factories.carrier("zto"))
    assert api(zto_client).get("/api/v1/interceptions/").json()["results"] == []
    jt_client = factories.api_client_for(carrier=factories.carrier("jt"))
    assert {row["id"] for row in api(jt_client).get("/api/v1/interceptions/").json()["results"]} == {
        order_a.pk,
        order_b.pk,
    }


def test_schema_documents_the_interception_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in [
        "/api/v1/parcels/",
        "/api/v1/after-sales/",
        "/api/v1/interceptions/",
        "/api/v1/interceptions/{id}/",
        "/api/v1/carriers/{code}/events/",
    ]:
        assert path in schema
    assert "X-Signature" in schema
