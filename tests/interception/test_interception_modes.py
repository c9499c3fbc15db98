"""Interception modes: back to the sender (the seeds' one mode), back to the sending outlet, or rerouted to a new
address (改址), where the carrier's service supports it; the fee of the mode is the one snapshotted (R6)."""

from decimal import Decimal

import pytest

from interception import carriers, services
from interception.carriers.sandbox import SandboxAdapter
from interception.models import InterceptionMode, InterceptionOrder
from kernel.errors import DomainError
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "李四", "phone": "138 0013 8000", "address": "浙江省杭州市西湖区文三路 1 号"}


def aftersale_url(after_sale):
    return f"/admin/interception/aftersale/{after_sale.pk}/intercept/"


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


@pytest.fixture
def back_to_sender_only(monkeypatch):
    """A carrier whose service knows only the seeds' mode (the sandbox knows every mode)."""

    class Narrow(SandboxAdapter):
        code = "narrow"
        capabilities = carriers.Capabilities(query=True)

    monkeypatch.setitem(carriers.ADAPTERS, "narrow", Narrow)
    after_sale = factories.interceptable()
    carrier = after_sale.parcel.carrier
    carrier.adapter = "narrow"
    carrier.save(update_fields=["adapter"])
    return after_sale


def test_default_mode_is_back_to_the_sender_with_the_contract_fee(cs):
    order = services.interception_start(after_sale_id=factories.interceptable(fee="5.00").pk, actor=cs)
    assert order.mode == InterceptionMode.RETURN_TO_SENDER and order.fee == Decimal("5.00")
    assert order.recipient_address == ""


def test_r6_each_mode_snapshots_its_own_fee_and_an_empty_one_is_the_same_fee(cs):
    after_sale = factories.interceptable(fee="5.00")
    contract = after_sale.parcel.outlet.contracts.get()
    contract.fee_reroute = Decimal("8.50")
    contract.save(update_fields=["fee_reroute"])
    order = services.interception_start(
        after_sale_id=after_sale.pk, actor=cs, mode=InterceptionMode.REROUTE, new_address=ADDRESS
    )
    assert order.fee == Decimal("8.50")
    assert (order.recipient_name, order.recipient_phone, order.recipient_address) == (
        "李四",
        "138 0013 8000",
        ADDRESS["address"],
    )
    other = services.interception_start(
        after_sale_id=factories.interceptable(fee="6.00").pk, actor=cs, mode=InterceptionMode.RETURN_TO_OUTLET
    )
    assert other.fee == Decimal("6.00")  # no fee of its own: the contract's fee


@pytest.mark.parametrize(
    ("address", "field", "code"),
    [
        (None, "new_address.name", "required"),
        ({**ADDRESS, "phone": ""}, "new_address.phone", "required"),
        ({**ADDRESS, "phone": "call me"}, "new_address.phone", "phone_invalid"),
        ({**ADDRESS, "address": "长" * 201}, "new_address.address", "too_long"),
    ],
)
def test_a_reroute_needs_a_whole_new_address_each_gap_named(cs, address, field, code):
    after_sale = factories.interceptable()
    with pytest.raises(DomainError) as refused:
        services.interception_start(
            after_sale_id=after_sale.pk, actor=cs, mode=InterceptionMode.REROUTE, new_address=address
        )
    assert {(e["field"], e["code"]) for e in refused.value.errors} >= {(field, code)}
    assert not InterceptionOrder.objects.exists()


def test_only_a_reroute_takes_a_new_address(cs):
    with pytest.raises(DomainError) as refused:
        services.interception_start(after_sale_id=factories.interceptable().pk, actor=cs, new_address=ADDRESS)
    assert [e["code"] for e in refused.value.errors] == ["new_address_unexpected"]


def test_a_mode_the_carriers_service_cannot_do_is_refused(cs, back_to_sender_only):
    with pytest.raises(DomainError) as refused:
        services.interception_start(
            after_sale_id=back_to_sender_only.pk, actor=cs, mode=InterceptionMode.RETURN_TO_OUTLET
        )
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("mode", "mode_not_supported")]
    assert services.interception_start(after_sale_id=back_to_sender_only.pk, actor=cs).mode == "return_sender"


def test_the_interception_page_offers_the_carriers_modes_with_their_fees_and_starts_a_reroute(client, cs):
    after_sale = factories.interceptable(fee="5.00")
    contract = after_sale.parcel.outlet.contracts.get()
    contract.fee_reroute = Decimal("9.00")
    contract.save(update_fields=["fee_reroute"])
    client.force_login(cs)
    page = client.get(aftersale_url(after_sale)).content.decode()
    assert "改址 · ¥9.00" in page and "原址返回 · ¥5.00" in page and "退回寄件网点 · ¥5.00" in page
    refused = client.post(aftersale_url(after_sale), {"mode": "reroute", "recipient_name": "李四", "understood": "on"})
    assert refused.status_code == 200 and not InterceptionOrder.objects.exists()
    assert "新收件人电话" in refused.content.decode()  # the missing part is named beside its field
    started = client.post(
        aftersale_url(after_sale),
        {
            "mode": "reroute",
            "recipient_name": ADDRESS["name"],
            "recipient_phone": ADDRESS["phone"],
            "recipient_address": ADDRESS["address"],
            "understood": "on",
        },
    )
    order = InterceptionOrder.objects.get()
    assert started.status_code == 302 and order.mode == "reroute" and order.fee == Decimal("9.00")
    change = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "改址" in change and ADDRESS["address"] in change


def test_the_page_does_not_offer_what_the_carrier_cannot_do(client, cs, back_to_sender_only):
    client.force_login(cs)
    page = client.get(aftersale_url(back_to_sender_only)).content.decode()
    assert "原址返回" in page and "改址" not in page and "新地址" not in page


def test_api_starts_a_reroute_and_answers_its_mode_and_address(api):
    after_sale = factories.interceptable()
    client = api(factories.api_client_for(merchant=after_sale.merchant))
    body = {"after_sale": after_sale.number, "mode": "reroute", "new_address": ADDRESS}
    response = client.post("/api/v1/interceptions/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["mode"] == "reroute" and response.json()["new_address"] == ADDRESS


def test_api_names_the_field_of_a_bad_mode_or_address(api):
    after_sale = factories.interceptable()
    client = api(factories.api_client_for(merchant=after_sale.merchant))
    unknown = client.post(
        "/api/v1/interceptions/", {"after_sale": after_sale.number, "mode": "teleport"}, format="json"
    )
    assert unknown.status_code == 400 and "mode" in str(unknown.json()["errors"])
    long = {**ADDRESS, "name": "名" * 51}
    too_long = client.post(
        "/api/v1/interceptions/",
        {"after_sale": after_sale.number, "mode": "reroute", "new_address": long},
        format="json",
    )
    assert too_long.status_code == 400 and "name" in str(too_long.json()["errors"])
    missing = client.post("/api/v1/interceptions/", {"after_sale": after_sale.number, "mode": "reroute"}, format="json")
    assert missing.status_code == 422
    assert {e.get("field") for e in missing.json()["errors"]} >= {"new_address.name", "new_address.address"}
    assert not InterceptionOrder.objects.exists()


# --- the scan-time lookup -------------------------------------------------------------------------------------------

LOOKUP = "/api/v1/interceptions/lookup/"


def test_lookup_tells_the_carriers_scanner_to_stop_a_rerouted_parcel_and_where_it_goes(api, cs):
    after_sale = factories.interceptable(carrier_code="jt")
    order = services.interception_start(
        after_sale_id=after_sale.pk, actor=cs, mode=InterceptionMode.REROUTE, new_address=ADDRESS
    )
    scanner = api(factories.api_client_for(carrier=factories.carrier("jt")))
    answer = scanner.get(LOOKUP, {"tracking_number": order.tracking_number.lower() + " "})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["stop"], body["interception"], body["mode"], body["new_address"]) == (
        True,
        order.pk,
        "reroute",
        ADDRESS,
    )
    assert "不要派送" in body["instruction"] or "改址" in body["instruction"]


def test_lookup_of_a_parcel_nobody_intercepts_says_deliver(api):
    scanner = api(factories.api_client_for(carrier=factories.carrier("jt")))
    body = scanner.get(LOOKUP, {"tracking_number": "JT404"}).json()
    assert (body["stop"] is False and "new_address" not in body) or body.get("new_address") is None


def test_lookup_is_scoped_another_carriers_parcel_answers_as_not_intercepted(api, cs):
    order = services.interception_start(after_sale_id=factories.interceptable(carrier_code="jt").pk, actor=cs)
    other_carrier = api(factories.api_client_for(carrier=factories.carrier("zto")))
    assert other_carrier.get(LOOKUP, {"tracking_number": order.tracking_number}).json()["stop"] is False
    outsider = factories.outlet_staff("o-else", factories.OutletFactory())
    client = api(outsider)
    assert client.get(LOOKUP, {"tracking_number": order.tracking_number}).json()["stop"] is False
    insider = api(factories.outlet_staff("o-own", order.outlet))
    assert insider.get(LOOKUP, {"tracking_number": order.tracking_number}).json()["stop"] is True


def test_lookup_after_a_failed_interception_says_deliver(api, cs):
    order = services.interception_start(after_sale_id=factories.interceptable(carrier_code="jt").pk, actor=cs)
    services.interception_record_result(
        order_id=order.pk,
        actor=factories.user("sup", roles.SUPERVISOR),
        result="failed",
        reason_text="已签收",
        note="电话确认",
    )
    scanner = api(factories.api_client_for(carrier=factories.carrier("jt")))
    assert scanner.get(LOOKUP, {"tracking_number": order.tracking_number}).json()["stop"] is False


@pytest.mark.parametrize("number", ["", "J" * 41, "JT\x00001"])
def test_lookup_refuses_a_missing_too_long_or_broken_number_naming_the_field(api, number):
    scanner = api(factories.api_client_for(carrier=factories.carrier("jt")))
    answer = scanner.get(LOOKUP, {"tracking_number": number})
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["tracking_number"]


# --- fees per mode, negotiated with the application -----------------------------------------------------------------


def test_an_offline_application_may_name_a_fee_per_mode_which_its_interceptions_snapshot(api, cs):
    merchant, outlet = factories.contract_setup(carrier_code="jt")
    client = api(factories.api_client_for(merchant=merchant))
    body = {
        "platform": merchant.platform.code,
        "carrier": "jt",
        "outlets": [outlet.code],
        "mode": "offline",
        "fee": "5.00",
        "fee_reroute": "7.50",
    }
    response = client.post("/api/v1/contracts/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert (created["fee"], created["fee_reroute"], created["fee_return_outlet"]) == ("5.00", "7.50", None)


@pytest.mark.parametrize(
    ("mode", "extra", "code"),
    [("offline", {"fee_reroute": "-1"}, "fee_negative"), ("online", {"fee_return_outlet": "2.00"}, "fee_fixed_online")],
)
def test_a_bad_fee_per_mode_refuses_the_application_naming_the_field(api, mode, extra, code):
    merchant, outlet = factories.contract_setup(carrier_code="jt")
    client = api(factories.api_client_for(merchant=merchant))
    body = {"platform": merchant.platform.code, "carrier": "jt", "outlets": [outlet.code], "mode": mode, "fee": "5.00"}
    response = client.post("/api/v1/contracts/", {**body, **extra}, format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(next(iter(extra)), code)]
