"""kuaidi100 interceptions: submitted signed to a local kuaidi100 in each mode, its error codes mapped (busy and
network errors asked again later, the rest ending the attempt with kuaidi100's message), its result pushes
verified and applied once, refusals answered in its format."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from interception import services
from interception.carriers import kuaidi100
from interception.models import CarrierCall, CarrierEvent, EwaybillAccount, InterceptionMode, InterceptionOrder
from kernel import timeline
from tests import factories
from tests.interception.kuaidi100_fake import FIXTURES, KEY, SALT, SECRET, push_form

pytestmark = pytest.mark.django_db
ACCOUNT = {"partnerId": "ZT-MONTHLY-0571", "partnerKey": "pk-secret-1", "partnerSecret": "ps-secret-2", "net": "义乌"}
RESULTS = json.loads((FIXTURES / "push_intercept_result.json").read_text(encoding="utf-8"))


def requested(*, mode=InterceptionMode.RETURN_TO_SENDER, **recipient):
    """A requested kuaidi100 interception of a ZTO parcel, its outlet's e-waybill account filled in."""
    after_sale = factories.interceptable(carrier_code="zto")
    account = EwaybillAccount.objects.get(merchant=after_sale.merchant, outlet=after_sale.parcel.outlet)
    account.set_credentials(ACCOUNT)
    account.save()
    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    InterceptionOrder.objects.filter(pk=order.pk).update(mode=mode, **recipient)
    return order


def submit(order, now=None):
    services.interception_submit(order_id=order.pk, now=now)
    order.refresh_from_db()
    return order


def intercept_params(k100):
    return [param for path, _form, param in k100.requests if path == "/label/order"]


def test_our_sign_is_the_recorded_examples():
    form = json.loads((FIXTURES / "intercept_request.json").read_text(encoding="utf-8"))["form"]
    assert kuaidi100.intercept_sign(form["param"], form["t"], form["key"], "demo-secret") == form["sign"]


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        (InterceptionMode.RETURN_TO_SENDER, "RETURN_SEND_ADDR"),
        (InterceptionMode.RETURN_TO_OUTLET, "RETURN_SEND_STATION"),
        (InterceptionMode.REROUTE, "MODIFY_ADDR"),
    ],
)
def test_each_mode_is_submitted_signed_with_the_outlets_account(k100, k100_zto, mode, kind):
    recipient = (
        {"recipient_name": "李四", "recipient_phone": "13800001111", "recipient_address": "浙江省杭州市西湖区文三路1号"}
        if mode == InterceptionMode.REROUTE
        else {}
    )
    order = submit(requested(mode=mode, **recipient))
    assert order.state == InterceptionOrder.State.INTERCEPTING
    assert order.carrier_ref == "A7D35C1F0E9B4E6F8D2A"
    (param,) = intercept_params(k100)
    assert param["interceptType"] == kind and param["kuaidicom"] == "zhongtong"
    assert param["kuaidinum"] == order.tracking_number and param["orderId"] == str(order.pk)
    assert param["partnerId"] == "ZT-MONTHLY-0571" and param["partnerKey"] == "pk-secret-1" and param["net"] == "义乌"
    assert param["salt"] == SALT and param["callbackUrl"] == "https://portal.example/api/v1/carriers/zto/events/"
    if mode == InterceptionMode.REROUTE:
        assert param["recManInfo"] == {
            "name": "李四",
            "mobile": "13800001111",
            "printAddr": "浙江省杭州市西湖区文三路1号",
        }
    else:
        assert "recManInfo" not in param
    call = CarrierCall.objects.get(interception=order)
    assert call.outcome == CarrierCall.Outcome.OK and call.service_code == "200"
    for secret in (KEY, SECRET, SALT, "pk-secret-1", "ps-secret-2"):
        assert secret not in call.request and secret not in call.url
    assert "ZT-MONTHLY-0571" in call.request  # an account number is no secret: the log shows what was asked


def test_a_landline_goes_as_tel(k100, k100_zto):
    submit(
        requested(
            mode=InterceptionMode.REROUTE,
            recipient_name="王五",
            recipient_phone="0571-88886666",
            recipient_address="杭州市上城区解放路2号",
        )
    )
    (param,) = intercept_params(k100)
    assert param["recManInfo"]["tel"] == "0571-88886666" and "mobile" not in param["recManInfo"]


def test_a_reroute_without_its_recipient_fails_before_asking(k100, k100_zto):
    order = submit(requested(mode=InterceptionMode.REROUTE))
    assert order.state == InterceptionOrder.State.FAILED and order.failure_code == "no_recipient"
    assert intercept_params(k100) == []


def test_a_wrong_secret_is_refused_by_kuaidi100s_signature_check(k100, k100_zto):
    k100_zto.set_credentials({"secret": "not-the-secret"})
    k100_zto.save()
    order = submit(requested())
    assert order.state == InterceptionOrder.State.FAILED
    assert order.failure_code == "bad_signature" and "签名校验失败" in order.failure_text


@pytest.mark.parametrize(
    ("code", "ours"),
    [
        ("101", "bad_format"),
        ("102", "bad_signature"),
        ("103", "missing_parameter"),
        ("104", "bad_parameter"),
        ("401", "key_expired"),
        ("402", "unknown_customer"),
    ],
)
def test_each_refusing_code_fails_the_interception_with_kuaidi100s_message(k100, k100_zto, code, ours):
    k100.script(code)
    order = submit(requested())
    assert order.state == InterceptionOrder.State.FAILED
    assert order.failure_code == ours
    message = json.loads((FIXTURES / "intercept_answers.json").read_text(encoding="utf-8"))["errors"][code]["message"]
    assert order.failure_text == f"kuaidi100 {code}: {message}"
    fail = [e for e in timeline.entries_for(order) if e.transition == "fail"]
    assert fail and message in fail[0].reason
    assert CarrierCall.objects.get(interception=order).outcome == CarrierCall.Outcome.REFUSED


def test_busy_500_keeps_the_interception_requested_and_the_retry_succeeds(k100, k100_zto):
    k100.script("500")
    now = timezone.now()
    order = submit(requested(), now=now)
    assert order.state == InterceptionOrder.State.REQUESTED
    assert order.next_submit_at > now and "kuaidi100 500" in order.last_submit_error
    assert "submit_failed" in [e.transition for e in timeline.entries_for(order)]
    assert services.deadlines_process(now=order.next_submit_at - timedelta(seconds=1)).submitted == 0
    assert services.deadlines_process(now=order.next_submit_at).submitted == 1
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.INTERCEPTING
    outcomes = list(CarrierCall.objects.filter(interception=order).order_by("id").values_list("outcome", flat=True))
    assert outcomes == [CarrierCall.Outcome.RETRY, CarrierCall.Outcome.OK]


def test_a_network_error_is_asked_again_later(settings, k100_zto):
    settings.KUAIDI100_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    now = timezone.now()
    order = submit(requested(), now=now)
    assert order.state == InterceptionOrder.State.REQUESTED and order.next_submit_at > now


def test_an_unlisted_code_ends_the_attempt_with_its_message(k100, k100_zto):
    k100.script({"success": False, "code": 30010, "message": "该运单不支持拦截"})
    order = submit(requested())
    assert order.state == InterceptionOrder.State.FAILED
    assert order.failure_code == "refused" and order.failure_text == "kuaidi100 30010: 该运单不支持拦截"


def test_a_carrier_without_its_kuaidi100_code_fails_with_what_is_missing(k100, k100_zto):
    k100_zto.service_code = ""
    k100_zto.save()
    order = submit(requested())
    assert order.state == InterceptionOrder.State.FAILED and order.failure_code == "carrier_incomplete"


# -- the result push -------------------------------------------------------------------------------------------


def push(client, param, *, salt=SALT, carrier="zto", sign=None, multipart=False):
    """POST a push as kuaidi100 does: an urlencoded form (or multipart, which a form post may also be)."""
    form = push_form(param, salt)
    if sign is not None:
        form["sign"] = sign
    url = f"/api/v1/carriers/{carrier}/events/"
    if multipart:
        return client.post(url, data=form)
    return client.post(url, data=urlencode(form), content_type="application/x-www-form-urlencoded")


def result_param(order, kind):
    at = timezone.localtime(order.submitted_at + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    return {**RESULTS[kind], "kuaidinum": order.tracking_number, "orderId": str(order.pk), "time": at}


def test_a_signed_success_push_marks_the_interception_succeeded(client, k100, k100_zto):
    order = submit(requested())
    response = push(client, result_param(order, "succeeded"))
    assert response.status_code == 200
    assert response.json() == {"result": True, "returnCode": "200", "message": "成功"}
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.SUCCEEDED and order.result_source == "callback"


def test_a_multipart_push_is_read_as_well(client, k100, k100_zto):
    order = submit(requested())
    assert push(client, result_param(order, "succeeded"), multipart=True).json()["result"] is True
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.SUCCEEDED


def test_a_signed_failure_push_fails_it_with_the_carriers_reason(client, k100, k100_zto):
    order = submit(requested())
    assert push(client, result_param(order, "failed")).json()["result"] is True
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.FAILED
    assert (order.failure_code, order.failure_text) == ("kuaidi100_failed", "快件已派送，拦截失败")


def test_the_same_result_pushed_twice_is_applied_once(client, k100, k100_zto):
    order = submit(requested())
    param = result_param(order, "succeeded")
    assert push(client, param).json()["result"] is True
    assert push(client, param).json() == {"result": True, "returnCode": "200", "message": "成功"}
    assert CarrierEvent.objects.filter(carrier=k100_zto, kind="interception_result").count() == 1
    assert [e.transition for e in timeline.entries_for(order)].count("succeed") == 1


@pytest.mark.parametrize("how", ["wrong salt", "no sign", "sign of another param"])
def test_a_bad_signature_is_refused_in_kuaidi100s_format_and_changes_nothing(client, k100, k100_zto, how):
    order = submit(requested())
    param = result_param(order, "succeeded")
    if how == "wrong salt":
        response = push(client, param, salt="not-our-salt")
    elif how == "no sign":
        response = push(client, param, sign="")
    else:
        response = push(client, param, sign=push_form({"kuaidinum": "X"}, SALT)["sign"])
    assert response.status_code == 200  # kuaidi100 reads the body; result false makes it push again later
    body = response.json()
    assert body["result"] is False and body["returnCode"] == "401" and body["message"].startswith("bad_signature")
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.INTERCEPTING
    assert not CarrierEvent.objects.filter(carrier=k100_zto).exists()


def test_a_lower_case_sign_is_accepted(client, k100, k100_zto):
    order = submit(requested())
    param = json.dumps(result_param(order, "succeeded"), ensure_ascii=False)
    response = push(client, param, sign=push_form(param, SALT)["sign"].lower())
    assert response.json()["result"] is True


def test_a_pending_status_is_accepted_and_applies_nothing(client, k100, k100_zto):
    order = submit(requested())
    response = push(client, {**result_param(order, "succeeded"), "status": "PROCESSING"})
    assert response.json()["result"] is True
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.INTERCEPTING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "MAYBE"}, "status"),
        ({"kuaidinum": "Z" * 41}, "kuaidinum"),
        ({"message": "长" * 501}, "message"),
        ({"time": "20/11/2026"}, "time"),
    ],
)
def test_a_malformed_result_is_refused_400_naming_the_field(client, k100, k100_zto, change, field):
    order = submit(requested())
    body = push(client, {**result_param(order, "succeeded"), **change}).json()
    assert body["result"] is False and body["returnCode"] == "400"
    assert body["message"].startswith(f"invalid_event [{field}]")
    assert not CarrierEvent.objects.exists()
