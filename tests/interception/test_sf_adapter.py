"""The 丰桥 adapter end to end against a local fake of SF's gateway, and SF's pushes through the callback URL."""

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from interception import carriers, services
from interception.carriers import sf
from interception.models import Carrier, CarrierCall, CarrierEvent, EwaybillAccount, InterceptionMode, InterceptionOrder
from kernel import timeline
from portal.env import ConfigError, read_settings
from tests import factories
from tests.commands import BASE
from tests.interception.fake_fengqiao import ANSWERS, FIXTURES, FakeFengqiao, java_url_encoder, sf_digest

pytestmark = pytest.mark.django_db

PARTNER, CHECKWORD = "SFPORTAL01", "ehpA2SxjBT0M0QY74VktZbPSx41xO9gt"
RETURN_ADDRESS = "广东省深圳市南山区粤海街道科技园1号"


@pytest.fixture
def fengqiao(settings):
    with FakeFengqiao(partner_id=PARTNER, checkword=CHECKWORD) as fake:
        settings.SF_URL = fake.url
        settings.SF_DIGEST = "urlencoded"
        yield fake


@pytest.fixture
def sf_carrier():
    carrier = Carrier.objects.get(code="sf")
    carrier.adapter = "sf"
    carrier.set_credentials({"partner_id": PARTNER, "checkword": CHECKWORD})
    carrier.save()
    return carrier


def sf_interception(*, mode=InterceptionMode.RETURN_TO_SENDER, account=None, **fields):
    """A requested interception of an SF parcel on Douyin (online, SF's seeded terms), not yet submitted."""
    merchant, outlet = factories.contract_setup(carrier_code="sf", platform_code="douyin")
    ewaybill = EwaybillAccount.objects.get(merchant=merchant, outlet=outlet)
    ewaybill.set_credentials(
        account
        if account is not None
        else {"return_address": RETURN_ADDRESS, "return_contact": "王店长", "return_phone": "13800000000"}
    )
    ewaybill.save()
    contract = factories.apply(merchant, outlet, mode="online")
    services.contract_approve(contract_id=contract.pk, actor=None)
    contract.refresh_from_db()
    services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=None)
    after_sale = factories.after_sale_for(factories.parcel_for(contract))
    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    InterceptionOrder.objects.filter(pk=order.pk).update(mode=mode, **fields)
    return order


def submit(order, now=None):
    services.interception_submit(order_id=order.pk, now=now)
    order.refresh_from_db()
    return order


def sent(fake):
    (form,) = fake.requests[-1:]
    return form, json.loads(form["msgData"])


def reasons(order):
    return [(e.transition, e.reason) for e in timeline.entries_for(order)]


# ---- signing ---------------------------------------------------------------------------------------------------


def test_digest_url_encodes_as_javas_urlencoder_which_sfs_gateway_uses():
    text = '{"a":"星 *~-_.!\'()/+&="}'
    assert sf.java_urlencode(text) == java_url_encoder(text)


@pytest.mark.parametrize("variant", ["urlencoded", "raw"])
def test_digest_of_sfs_demo_message_matches_the_gateways_computation(variant):
    msg_data = (FIXTURES / "wanted_intercept_msgdata.json").read_text(encoding="utf-8").strip()
    ours = sf.msg_digest(msg_data, "1700000000", CHECKWORD, variant)
    assert ours == sf_digest(msg_data, "1700000000", CHECKWORD, variant)
    other = "raw" if variant == "urlencoded" else "urlencoded"
    assert ours != sf_digest(msg_data, "1700000000", CHECKWORD, other)


def test_sf_digest_and_url_settings_are_validated():
    assert read_settings({}, base_dir=BASE)["sf_digest"] == "urlencoded"
    assert read_settings({}, base_dir=BASE)["sf_url"] == "https://sfapi.sf-express.com/std/service"
    assert read_settings({"SF_DIGEST": "RAW"}, base_dir=BASE)["sf_digest"] == "raw"
    with pytest.raises(ConfigError, match="SF_DIGEST"):
        read_settings({"SF_DIGEST": "md5"}, base_dir=BASE)
    with pytest.raises(ConfigError, match="SF_URL"):
        read_settings({"SF_URL": "sfapi.sf-express.com"}, base_dir=BASE)


# ---- submitting --------------------------------------------------------------------------------------------------


def test_return_to_sender_is_sent_signed_as_sf_checks_it_and_the_interception_is_with_sf(fengqiao, sf_carrier):
    order = submit(sf_interception())
    assert order.state == InterceptionOrder.State.INTERCEPTING
    assert order.carrier_ref == ANSWERS["ok"]["apiResponseID"]
    form, data = sent(fengqiao)
    assert (form["partnerID"], form["serviceCode"]) == (PARTNER, "EXP_RECE_WANTED_INTERCEPT")
    assert abs(int(form["timestamp"]) - time.time()) < 60  # Unix seconds
    assert data == {
        "waybillNo": order.tracking_number,
        "serviceCode": "2",
        "role": "1",
        "payMode": "1",
        "newDestAddress": {
            "province": "广东省",
            "city": "深圳市",
            "county": "南山区",
            "address": "粤海街道科技园1号",
            "contact": "王店长",
            "phone": "13800000000",
        },
    }
    call = CarrierCall.objects.get(interception=order)
    assert (call.operation, call.outcome, call.service_code) == ("submit", "ok", "S0000")
    assert CHECKWORD not in call.request and "[redacted]" not in call.response


def test_the_merchants_monthly_card_pays_else_the_portals(fengqiao, sf_carrier):
    sf_carrier.set_credentials({"monthly_card": "7551234567"})
    sf_carrier.save()
    submit(sf_interception())
    assert {k: sent(fengqiao)[1][k] for k in ("payMode", "monthlyCardNo")} == {
        "payMode": "3",
        "monthlyCardNo": "7551234567",
    }
    account = {"return_address": RETURN_ADDRESS, "monthly_card": "0201234567"}
    submit(sf_interception(account=account))
    assert {k: sent(fengqiao)[1][k] for k in ("payMode", "monthlyCardNo")} == {
        "payMode": "4",
        "monthlyCardNo": "0201234567",
    }


def test_reroute_sends_the_new_address_split_as_sf_wants_it(fengqiao, sf_carrier):
    order = submit(
        sf_interception(
            mode=InterceptionMode.REROUTE,
            recipient_name="李雷",
            recipient_phone="13900000000",
            recipient_address="上海市浦东新区张江路88号3楼",
        )
    )
    assert order.state == InterceptionOrder.State.INTERCEPTING
    _form, data = sent(fengqiao)
    assert data["serviceCode"] == "1"
    assert data["newDestAddress"] == {
        "province": "上海市",
        "city": "上海市",
        "county": "浦东新区",
        "address": "张江路88号3楼",
        "contact": "李雷",
        "phone": "13900000000",
    }


def test_sf_has_no_return_to_the_sending_outlet_the_attempt_ends_without_asking(fengqiao, sf_carrier):
    assert InterceptionMode.RETURN_TO_OUTLET not in carriers.adapter_for(sf_carrier).capabilities.modes
    order = submit(sf_interception(mode=InterceptionMode.RETURN_TO_OUTLET))
    assert (order.state, order.failure_code) == ("failed", "mode_not_supported")
    assert str(InterceptionMode.RETURN_TO_OUTLET.label) in order.failure_text
    assert fengqiao.requests == []


def test_an_address_sf_cannot_split_ends_the_attempt_naming_it(fengqiao, sf_carrier):
    order = submit(sf_interception(account={"return_address": "科技园1号"}))
    assert (order.state, order.failure_code) == ("failed", "address_unsplittable")
    assert "return_address" in order.failure_text and fengqiao.requests == []


def test_an_account_without_return_address_is_refused_before_asking_sf(fengqiao, sf_carrier):
    order = submit(sf_interception(account={}))
    assert (order.state, order.failure_code) == ("failed", "account_incomplete")
    assert fengqiao.requests == []


def test_sf_offers_no_query_of_results_they_are_pushed(sf_carrier):
    capabilities = carriers.adapter_for(sf_carrier).capabilities
    assert (capabilities.query, capabilities.tracking) == (False, False)


RETRIED = ["A1002", "A1005", "A1009", "A1099", "business_4001"]
REFUSED = [
    "A1001",
    "A1003",
    "A1004",
    "A1006",
    "A1007",
    "A1008",
    "A1010",
    "A1011",
    "not_interceptable_signed",
    "not_interceptable_twice",
    "bad_parameter",
]


@pytest.mark.parametrize("answer", RETRIED)
def test_busy_rate_limited_or_failing_sf_is_asked_again_later(fengqiao, sf_carrier, answer):
    fengqiao.then(answer)
    order = sf_interception()
    now = timezone.now()
    order = submit(order, now=now)
    assert (order.state, order.submit_attempts) == ("requested", 1)
    assert order.next_submit_at == now + timedelta(minutes=5)
    assert reasons(order)[-1][0] == "submit_failed"
    assert CarrierCall.objects.get(interception=order).outcome == "retry"


@pytest.mark.parametrize("answer", REFUSED)
def test_bad_signature_bad_parameter_or_a_parcel_sf_cannot_intercept_fails_with_sfs_message(
    fengqiao, sf_carrier, answer
):
    fengqiao.then(answer)
    order = submit(sf_interception())
    envelope = ANSWERS[answer]
    message = envelope["apiErrorMsg"] or json.loads(envelope["apiResultData"])["errorMsg"]
    assert order.state == InterceptionOrder.State.FAILED
    assert message in order.failure_text and order.failure_code.startswith("sf_")
    assert any(t == "fail" and message in r for t, r in reasons(order))
    assert CarrierCall.objects.get(interception=order).outcome == "refused"


def test_a_wrong_digest_variant_is_refused_by_sf_as_a_bad_signature(fengqiao, sf_carrier, settings):
    settings.SF_DIGEST = "raw"  # the fake verifies the URL-encoded digest
    order = submit(sf_interception())
    assert (order.state, order.failure_code) == ("failed", "sf_A1006")
    assert "数字签名无效" in order.failure_text


def test_after_sf_was_busy_the_next_attempt_gets_through(fengqiao, sf_carrier):
    fengqiao.then("A1005")
    order = sf_interception()
    now = timezone.now()
    order = submit(order, now=now)
    assert order.state == "requested"
    assert services.deadlines_process(now=now + timedelta(minutes=5)).submitted == 1
    order.refresh_from_db()
    assert (order.state, order.submit_attempts) == ("intercepting", 2)
    assert [c.outcome for c in CarrierCall.objects.filter(interception=order).order_by("id")] == ["retry", "ok"]


# ---- SF pushing the result ---------------------------------------------------------------------------------------


def push(client, order, fixture, *, checkword=CHECKWORD, variant="urlencoded", **changes):
    data = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    data.update(waybillNo=order.tracking_number, operateTime=f"{timezone.localtime():%Y-%m-%d %H:%M:%S}")
    data.update(changes)
    msg_data = json.dumps(data, ensure_ascii=False)
    timestamp = str(int(time.time()))
    form = {
        "partnerID": PARTNER,
        "requestID": "6c4d2a1e-9d1b-4c1e-8f0e-0d9b2f1a7c31",
        "serviceCode": "EXP_RECE_WANTED_INTERCEPT",
        "timestamp": timestamp,
        "msgDigest": sf_digest(msg_data, timestamp, checkword, variant),
        "msgData": msg_data,
    }
    # As SF posts: a URL-encoded form.
    response = client.post(
        "/api/v1/carriers/sf/events/", data=urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    body = json.loads(response.content)
    return response.status_code, body, json.loads(body["apiResultData"])


@pytest.fixture
def intercepting(fengqiao, sf_carrier):
    return submit(sf_interception())


def test_a_pushed_success_is_answered_in_sfs_format_and_applied_once(client, intercepting):
    at = f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"
    status, body, result = push(client, intercepting, "push_success.json", operateTime=at)
    assert (status, body["apiResultCode"], result["success"], result["errorCode"]) == (200, "A1000", True, "S0000")
    intercepting.refresh_from_db()
    assert intercepting.state == InterceptionOrder.State.SUCCEEDED
    again = push(client, intercepting, "push_success.json", operateTime=at)  # SF pushing it again
    assert again[1]["apiResultCode"] == "A1000"
    assert CarrierEvent.objects.filter(tracking_number=intercepting.tracking_number).count() == 1
    assert [t for t, _r in reasons(intercepting)].count("succeed") == 1


def test_a_pushed_failure_fails_the_interception_with_sfs_reason(client, intercepting):
    status, body, _result = push(client, intercepting, "push_failure.json")
    assert (status, body["apiResultCode"]) == (200, "A1000")
    intercepting.refresh_from_db()
    assert (intercepting.state, intercepting.failure_code) == ("failed", "SIGNED")
    assert intercepting.failure_text == "快件已签收，截单失败"


def test_a_push_with_a_wrong_digest_is_refused_as_sf_refuses_one(client, intercepting):
    status, body, result = push(client, intercepting, "push_success.json", checkword="not-our-checkword")
    assert (status, body["apiResultCode"], result["success"]) == (401, "A1006", False)
    intercepting.refresh_from_db()
    assert intercepting.state == InterceptionOrder.State.INTERCEPTING
    assert not CarrierEvent.objects.filter(tracking_number=intercepting.tracking_number).exists()


def test_the_digest_variant_setting_applies_to_pushes_too(client, intercepting, settings):
    settings.SF_DIGEST = "raw"
    assert push(client, intercepting, "push_success.json")[0] == 401
    assert push(client, intercepting, "push_success.json", variant="raw")[1]["apiResultCode"] == "A1000"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"failReason": "长" * 501, "interceptResult": "FAIL"}, "failReason"),
        ({"operateTime": "2026-13-45 10:00:00"}, "operateTime"),
        ({"interceptResult": "MAYBE"}, "interceptResult"),
        ({"waybillNo": "SF" + "1" * 60}, "waybillNo"),
    ],
)
def test_a_push_that_does_not_fit_is_refused_naming_the_field(client, intercepting, changes, field):
    status, body, result = push(client, intercepting, "push_success.json", **changes)
    assert (status, body["apiResultCode"], result["success"]) == (400, "A1001", False)
    assert field in json.dumps(result["msgData"])
    intercepting.refresh_from_db()
    assert intercepting.state == InterceptionOrder.State.INTERCEPTING


def test_a_push_dated_ahead_of_our_clock_is_refused(client, intercepting):
    ahead = timezone.localtime() + timedelta(hours=2)
    status, body, result = push(client, intercepting, "push_success.json", operateTime=f"{ahead:%Y-%m-%d %H:%M:%S}")
    assert (status, body["apiResultCode"], result["success"]) == (400, "A1001", False)
    assert "occurred_at" in json.dumps(result["msgData"])
    intercepting.refresh_from_db()
    assert intercepting.state == InterceptionOrder.State.INTERCEPTING


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("广东省深圳市南山区粤海街道科技园1号", ("广东省", "深圳市", "南山区", "粤海街道科技园1号")),
        ("北京市朝阳区建国路1号", ("北京市", "北京市", "朝阳区", "建国路1号")),
        ("新疆维吾尔自治区乌鲁木齐市天山区人民路2号", ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "人民路2号")),
        ("浙江省金华市义乌市稠城街道3号", ("浙江省", "金华市", "义乌市", "稠城街道3号")),
    ],
)
def test_addresses_are_split_into_province_city_county_and_street(text, parts):
    got = sf.split_address(text)
    assert (got["province"], got["city"], got["county"], got["address"]) == parts


def test_an_address_without_province_is_not_split():
    assert sf.split_address("南山区粤海街道1号") is None
    assert sf.split_address("") is None
