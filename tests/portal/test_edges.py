"""What outside systems and hostile users send at the edges: refused with a 4xx in our shape, never a 500."""

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User

from interception import services
from interception.models import GoodsLine, Parcel
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(db):
    contract = factories.active_contract(carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    return contract, factories.api_client_for(merchant=contract.merchant)


def parcel_body(contract, **over):
    body = {
        "carrier": "jt",
        "outlet": contract.outlet.code,
        "tracking_number": "JT-EDGE-1",
        "order_number": "O-1",
        "goods": [{"name": "保温杯", "category": "general", "quantity": 1, "specification": "500ml", "value": "59.90"}],
    }
    body.update(over)
    return body


def post_raw(client, url, body):
    return client.post(url, data=body, content_type="application/json")


def test_a_json_body_nested_5000_levels_deep_is_400_on_parcels(api, merchant):
    contract, client_user = merchant
    body = b'{"carrier": "jt", "goods": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = post_raw(api(client_user), "/api/v1/parcels/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json" and response.json()["errors"][0]["code"] == "too_deep"


@pytest.mark.parametrize(
    "where, value",
    [
        ("order_number", "O\u00001"),
        ("tracking_number", "JT\u0000"),
        ("goods[0].name", "杯\u0000子"),
        ("goods[0].specification", "\ud800"),
        ("carrier", "j\u0000t"),
    ],
)
def test_nul_and_lone_surrogates_in_any_text_of_a_parcel_are_400_naming_the_field(api, merchant, where, value):
    contract, client_user = merchant
    body = parcel_body(contract)
    if where.startswith("goods"):
        body["goods"][0][where.split(".")[1]] = value
    else:
        body[where] = value
    response = post_raw(api(client_user), "/api/v1/parcels/", json.dumps(body))
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == where
    assert not Parcel.objects.exists() and not GoodsLine.objects.exists()


def test_a_lone_surrogate_in_an_after_sale_reason_is_400(api, merchant):
    contract, client_user = merchant
    parcel = factories.parcel_for(contract)
    response = post_raw(
        api(client_user),
        "/api/v1/after-sales/",
        json.dumps(
            {
                "number": "AS-S",
                "carrier": "jt",
                "tracking_number": parcel.tracking_number,
                "kind": "refund_only",
                "amount": "10.00",
                "reason": "不要了\udc00",
            }
        ),
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "reason"


@pytest.mark.parametrize("offset", ["-18:55", "+16:00", "+14:01"])
def test_created_after_with_an_offset_no_time_zone_has_is_400(api, merchant, offset):
    _contract, client_user = merchant
    response = api(client_user).get("/api/v1/interceptions/", {"created_after": f"2026-11-01T00:00:00{offset}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "created_after"


def test_created_after_with_a_real_offset_filters(api, merchant):
    contract, client_user = merchant
    factories.started(factories.after_sale_for(factories.parcel_for(contract)))
    client = api(client_user)
    for since, found in [("2020-01-01T00:00:00+14:00", 1), ("2999-01-01T00:00:00-12:00", 0)]:
        assert len(client.get("/api/v1/interceptions/", {"created_after": since}).json()["results"]) == found


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/statements/²/export/",
        "/api/v1/statements/١/",
        "/api/v1/claims/²/",
        "/api/v1/interceptions/99999999999999999999/",
    ],
)
def test_ids_in_paths_that_are_not_ascii_digits_or_too_big_are_404(api, merchant, path):
    _contract, client_user = merchant
    response = api(client_user).get(path)
    assert response.status_code == 404
    assert response.json()["code"] in ("not_found", "error")


def test_a_nul_in_a_query_parameter_is_400_on_the_api_and_in_the_admin(api, merchant, client):
    _contract, client_user = merchant
    response = api(client_user).get("/api/v1/parcels/?tracking_number=JT%00")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_character",
        "detail": response.json()["detail"],
        "errors": [{"code": "invalid_character", "field": "tracking_number", "message": response.json()["detail"]}],
    }
    client.force_login(factories.user("cs-nul", roles.CUSTOMER_SERVICE))
    page = client.get("/admin/interception/interceptionorder/?q=JT%00")
    assert page.status_code == 400 and "NUL" in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/parcels/",
        "/api/v1/after-sales/",
        "/api/v1/interceptions/",
        "/api/v1/contracts/",
        "/api/v1/claims/",
        "/api/v1/carriers/jt/events/",
        "/api/v1/agreements/",
    ],
)
def test_a_body_over_the_limit_is_413_in_our_shape_on_every_api_url(api, merchant, settings, url):
    _contract, client_user = merchant
    body = b'{"x": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    response = post_raw(api(client_user), url, body)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large" and response.json()["errors"] == []


def test_an_upload_over_the_request_cap_is_413_before_it_is_read(api, merchant, settings):
    _contract, client_user = merchant
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    photo = b"\xff\xd8" + b"0" * (1024 * 1024 + 1)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api(client_user).post(
        "/api/v1/claims/",
        {"tracking_number": "X", "kind": "damage", "photos": [SimpleUploadedFile("a.jpg", photo)]},
        format="multipart",
    )
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"


def test_a_form_over_the_limit_in_the_admin_is_a_413_page(client, settings):
    user = User.objects.create_superuser("root-edge", password="pw-12345!")
    client.force_login(user)
    response = client.post(
        "/admin/interception/aftersale/add/", {"reason": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    )
    assert response.status_code == 413
    assert "MB" in response.content.decode()


def test_every_service_refuses_outside_text_longer_than_its_column_never_cuts_it():
    """The services are the one place: admin forms, the API, imports and automation all come through them."""
    from kernel.errors import DomainError

    contract = factories.active_contract(carrier_code="jt")
    attempts = {
        "tracking_number": lambda: services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number="J" * 41,
            order_number="O",
            goods=[{"name": "杯", "value": "1"}],
        ),
        "order_number": lambda: services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number="JT-OK",
            order_number="O" * 65,
            goods=[{"name": "杯", "value": "1"}],
        ),
        "goods[0].name": lambda: services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number="JT-OK2",
            order_number="O",
            goods=[{"name": "杯" * 201, "value": "1"}],
        ),
        "number": lambda: services.aftersale_create(
            actor=None, parcel=factories.parcel_for(contract), number="A" * 65, kind="refund_only", amount="1.00"
        ),
        "reason_code": lambda: services.interception_record_result(
            order_id=factories.started().pk, actor=None, result="failed", reason_code="c" * 65, source="callback"
        ),
    }
    for field, attempt in attempts.items():
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.status == 400
        assert [(e["code"], e["field"]) for e in refused.value.errors] == [("too_long", field)], field
    assert not Parcel.objects.filter(tracking_number__startswith="JT-OK").exists()


def test_claim_goods_and_payment_references_longer_than_their_columns_are_refused():
    from claims.rules import evidence_problems
    from settlement.rules import payment_record_problems

    goods = [{"name": "围巾" * 101, "quantity": 1, "specification": "灰", "value": "10.00"}]
    assert [(p.code, p.field) for p in evidence_problems("damage", goods, ["photo"])] == [("too_long", "goods[0].name")]
    from django.utils import timezone

    assert [(p.code, p.field) for p in payment_record_problems(reference="R" * 101, paid_at=timezone.now())] == [
        ("too_long", "payment_reference")
    ]


def test_a_nul_in_a_posted_form_field_is_400_not_500(client):
    """Admin actions look the selected ids up as posted; the decision file's confirm step its token."""
    client.force_login(User.objects.create_superuser("root-nul", password="pw-12345!"))
    for data in (
        {"action": "bulk_approve", "_selected_action": ["1\x00"]},
        {"action": "bulk_approve", "_selected_action": ["abc"]},
    ):
        for encoded in ({}, {"content_type": "application/x-www-form-urlencoded"}):
            body = urlencode(data, doseq=True) if encoded else data
            assert client.post("/admin/interception/contract/", body, **encoded).status_code == 400
    response = client.post("/admin/interception/contract/decisions/import/", {"confirm": "1", "token": "t\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "x\\u0000"}',
        '{"a": "\\uDFFF"}',
        '{"\\ud83d": 1}',
        '["a", {"b": ["\\u0000"]}]',
        "[" * 32 + "1" + "]" * 32,
        "{}\ud800".replace("{}", '{"a": "') + '"}',
    ],
)
def test_a_json_body_with_an_unstorable_string_or_too_deep_is_refused_however_it_is_written(text):
    from kernel.errors import DomainError
    from kernel.inputs import parse_json

    with pytest.raises(DomainError) as refused:
        parse_json(text)
    assert refused.value.errors[0]["code"] in ("invalid_character", "too_deep")


def test_a_clean_json_body_at_the_depth_limit_is_read():
    from kernel.inputs import parse_json

    assert parse_json("[" * 31 + "1" + "]" * 31) is not None
    assert parse_json("[" * 32 + "]" * 32) is not None
    assert parse_json('{"text": "到达转运中心 \\\\u0000 [{"}') == {"text": "到达转运中心 \\u0000 [{"}
