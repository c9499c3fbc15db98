"""Carrier credentials (write-only, sealed at rest, rotated) and the log of calls to carriers' services."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from interception import carriers, services
from interception.carriers.http import ServiceClient
from interception.models import Carrier, CarrierCall
from kernel.secrets import development_key
from portal import roles
from tests import factories
from tests.fake_http import Served

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t+/=value&more"  # URL-encoding changes it: the log must redact both forms


@pytest.fixture
def supervisor(db):
    return factories.user("boss", roles.SUPERVISOR)


def carrier_form(carrier, **over):
    data = {"code": carrier.code, "name": carrier.name, "adapter": carrier.adapter, "service_code": ""}
    data.update(over)
    return data


def test_a_secret_entered_in_the_admin_is_sealed_and_never_shown_again(client, supervisor):
    carrier = factories.carrier("jt")
    client.force_login(supervisor)
    url = f"/admin/interception/carrier/{carrier.pk}/change/"
    response = client.post(url, carrier_form(carrier, **{"cred__sandbox__callback_secret": SECRET}))
    assert response.status_code == 302
    carrier.refresh_from_db()
    assert carrier.callback_secret == SECRET
    with connection.cursor() as cursor:  # at rest: neither the value nor a part of it
        cursor.execute("SELECT sealed_credentials FROM interception_carrier WHERE id = %s", [carrier.pk])
        (stored,) = cursor.fetchone()
    assert SECRET not in stored and "s3cr3t" not in stored
    page = client.get(url).content.decode()
    assert SECRET not in page and "s3cr3t" not in page
    assert "已设置" in page or "设置于" in page  # the page says it is set, and when


def test_leaving_a_secret_empty_keeps_it(client, supervisor):
    carrier = factories.carrier("jt")
    carrier.callback_secret = SECRET
    carrier.save()
    client.force_login(supervisor)
    response = client.post(
        f"/admin/interception/carrier/{carrier.pk}/change/", carrier_form(carrier, name="极兔速递（改）")
    )
    assert response.status_code == 302
    carrier.refresh_from_db()
    assert carrier.name == "极兔速递（改）" and carrier.callback_secret == SECRET


def test_a_carrier_whose_adapter_lacks_a_credential_is_refused_when_saved(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/admin/interception/carrier/add/", {"code": "new", "name": "新快递", "adapter": "standard", "service_code": ""}
    )
    assert response.status_code == 200 and not Carrier.objects.filter(code="new").exists()
    assert "回调密钥" in response.content.decode()  # the missing credential is named


def test_a_carrier_with_an_unknown_adapter_is_refused_when_saved(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/admin/interception/carrier/add/", {"code": "new", "name": "新快递", "adapter": "pigeon", "service_code": ""}
    )
    assert response.status_code == 200 and not Carrier.objects.filter(code="new").exists()
    assert response.context["adminform"].form.errors["adapter"]


def test_a_carrier_saved_outside_the_admin_with_a_gone_adapter_fails_its_interceptions_with_the_reason(
    cs, django_capture_on_commit_callbacks
):
    after_sale = factories.interceptable()
    Carrier.objects.filter(pk=after_sale.parcel.carrier_id).update(adapter="pigeon")
    with django_capture_on_commit_callbacks(execute=True):
        order = services.interception_start(after_sale_id=after_sale.pk, actor=cs)
    order.refresh_from_db()
    assert order.state == "failed" and order.failure_code == "adapter_unknown"
    assert "pigeon" in order.failure_text


def test_key_rotation_reseals_with_the_new_key_and_the_old_key_can_then_go(settings):
    carrier = factories.carrier("jt")
    old_key = settings.CREDENTIALS_KEYS[0]
    carrier.callback_secret = SECRET
    carrier.save()
    new_key = development_key("another machine")
    settings.CREDENTIALS_KEYS = [new_key, old_key]
    call_command("reseal_credentials", stdout=StringIO())
    settings.CREDENTIALS_KEYS = [new_key]
    assert Carrier.objects.get(pk=carrier.pk).callback_secret == SECRET


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


# --- the call log ---------------------------------------------------------------------------------------------------


@pytest.fixture
def service():
    """A service answering what the test scripts: (status, body)."""
    answers = []
    served = Served(lambda path, headers, body: answers.pop(0))
    yield served.url + "/api", answers
    served.stop()


def ask(url, order, **kwargs):
    client = ServiceClient(order.carrier, interception=order)
    with client.call("submit", url, form={"key": "K1", "sign": SECRET, "param": "{}"}, secrets=[SECRET]) as call:
        data = call.json()
        call.answered(data.get("code"), data.get("message"))
        if data.get("code") == 104:
            raise carriers.CarrierRefused(data["message"], code="104")
        return data


def test_every_call_is_logged_with_its_answer_and_secrets_redacted(service, cs):
    url, answers = service
    order = factories.started()
    answers.append((200, {"code": 200, "message": f"ok, echo {SECRET}"}))
    ask(url, order)
    call = CarrierCall.objects.get()
    assert (call.operation, call.outcome, call.http_status, call.service_code) == ("submit", "ok", 200, "200")
    assert call.interception_id == order.pk and call.tracking_number == order.tracking_number
    logged = call.request + call.response + call.service_message + call.url
    assert "s3cr3t" not in logged and "[redacted]" in call.request and "K1" in call.request


def test_busy_and_unreachable_are_asked_again_a_refusal_is_not(service):
    url, answers = service
    order = factories.started()
    answers.append((503, {"message": "busy"}))
    with pytest.raises(carriers.CarrierUnavailable):
        ask(url, order)
    answers.append((200, {"code": 104, "message": "参数错误"}))
    with pytest.raises(carriers.CarrierRefused):
        ask(url, order)
    with pytest.raises(carriers.CarrierUnavailable):
        ask("http://127.0.0.1:9/closed", order)  # nothing listens on the discard port
    outcomes = list(CarrierCall.objects.order_by("id").values_list("outcome", "service_code"))
    assert outcomes == [("retry", ""), ("refused", "104"), ("retry", "")]
    assert "ConnectionError" in CarrierCall.objects.order_by("id").last().service_message


def test_the_call_log_is_on_the_interception_page_and_a_filtered_list_outlet_staff_never_see(service, cs, client):
    url, answers = service
    order = factories.started()
    answers.append((200, {"code": 200, "message": "提交成功"}))
    ask(url, order)
    client.force_login(cs)
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "提交成功" in page
    listed = client.get("/admin/interception/carriercall/", {"outcome": "ok", "carrier__id__exact": order.carrier_id})
    assert listed.status_code == 200 and "提交成功" in listed.content.decode()
    assert "提交成功" not in client.get("/admin/interception/carriercall/", {"outcome": "refused"}).content.decode()
    staff = factories.outlet_staff("o1", order.outlet)
    client.force_login(staff)
    assert client.get("/admin/interception/carriercall/").status_code == 403
    assert "提交成功" not in client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()


@override_settings(CARRIER_LOG_DAYS=90)
def test_the_runner_forgets_calls_older_than_carrier_log_days():
    order = factories.started()
    now = timezone.now()
    old = CarrierCall.objects.create(carrier=order.carrier, operation="submit", outcome="ok", at=now - timedelta(91))
    kept = CarrierCall.objects.create(carrier=order.carrier, operation="submit", outcome="ok", at=now - timedelta(89))
    report = services.deadlines_process(now=now)
    assert report.pruned == 1
    assert list(CarrierCall.objects.values_list("pk", flat=True)) == [kept.pk] and old.pk != kept.pk
