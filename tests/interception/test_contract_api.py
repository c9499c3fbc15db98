import pytest

from interception.models import Contract
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant_client(api):
    merchant, outlet = factories.contract_setup()
    return {"merchant": merchant, "outlet": outlet, "client": api(factories.api_client_for(merchant=merchant))}


def test_merchant_client_applies_for_its_own_merchant(merchant_client):
    m = merchant_client
    response = m["client"].post(
        "/api/v1/contracts/",
        {"platform": "kuaishou", "carrier": "jt", "outlets": [m["outlet"].code], "mode": "offline", "fee": "4.20"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()["created"]
    assert [(c["merchant"], c["state"], c["fee"]) for c in created] == [(m["merchant"].code, "pending", "4.20")]


def test_refused_application_gets_422_with_every_code(merchant_client):
    m = merchant_client
    stranger = factories.OutletFactory()
    response = m["client"].post(
        "/api/v1/contracts/",
        {"platform": "kuaishou", "carrier": "jt", "outlets": [stranger.code], "mode": "offline", "fee": "-1"},
        format="json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "application_refused"
    assert {e["code"] for e in body["errors"]} == {"no_ewaybill", "fee_negative"}


def test_bad_payload_gets_400_with_field_errors(merchant_client):
    response = merchant_client["client"].post("/api/v1/contracts/", {"platform": "kuaishou"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and {"carrier", "outlets", "mode"} <= {e["field"] for e in body["errors"]}


def test_merchant_client_cannot_apply_for_another_merchant(merchant_client):
    other, outlet = factories.contract_setup()
    response = merchant_client["client"].post(
        "/api/v1/contracts/",
        {
            "merchant": other.code,
            "platform": "kuaishou",
            "carrier": "jt",
            "outlets": [outlet.code],
            "mode": "offline",
            "fee": "1.00",
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "merchant_unknown"
    assert not Contract.objects.filter(merchant=other).exists()


def test_contract_list_is_scoped_and_filtered(api, merchant_client):
    m = merchant_client
    mine = factories.apply(m["merchant"], m["outlet"])
    other_merchant, other_outlet = factories.contract_setup(carrier_code="yto")
    theirs = factories.apply(other_merchant, other_outlet)
    ids = {c["id"] for c in m["client"].get("/api/v1/contracts/").json()["results"]}
    assert ids == {mine.pk}
    assert m["client"].get(f"/api/v1/contracts/{theirs.pk}/").status_code == 404
    assert m["client"].get("/api/v1/contracts/", {"state": "active"}).json()["results"] == []
    assert (
        len(
            m["client"]
            .get(
                "/api/v1/contracts/",
                {
                    "state": "pending",
                    "carrier": "jt",
                    "mode": "offline",
                    "platform": "kuaishou",
                    "outlet": m["outlet"].code,
                },
            )
            .json()["results"]
        )
        == 1
    )


def test_outlet_a_staff_cannot_list_or_open_outlet_b_contracts_by_api(api):
    a, b = factories.OutletFactory(), factories.OutletFactory()
    ma, _ = factories.contract_setup(outlet=a)
    mb, _ = factories.contract_setup(outlet=b)
    ca, cb = factories.apply(ma, a), factories.apply(mb, b)
    client = api(factories.outlet_staff("sa", a))
    assert {c["id"] for c in client.get("/api/v1/contracts/").json()["results"]} == {ca.pk}
    assert client.get(f"/api/v1/contracts/{cb.pk}/").status_code == 404


def test_agreement_api_is_idempotent(merchant_client):
    client = merchant_client["client"]
    first = client.post("/api/v1/agreements/", {"platform": "kuaishou"}, format="json")
    again = client.post("/api/v1/agreements/", {"platform": "kuaishou"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    wrong = client.post("/api/v1/agreements/", {"platform": "douyin"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_platform"


def test_schema_documents_the_contract_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/contracts/" in schema and "/api/v1/agreements/" in schema
