"""What the portal's actions put in the outbox: who is told, what the merchant's webhook hears."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from interception import services
from interception.services.nudges import contract_nudge
from kernel.errors import DomainError
from kernel.timeline import entries_for
from notifications.delivery import deliver
from notifications.models import Audience, Notification, WebhookDelivery
from notifications.outbox import enqueue_webhook  # noqa: F401 - the function the hooks call
from portal import roles
from settlement import services as settlement
from tests import factories
from tests.notifications.helpers import channel

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _webhook(merchant, events):
    from notifications.services import webhook_register

    client = factories.api_client_for(merchant=merchant)
    endpoint, _secret = webhook_register(
        client=client.api_client, url="https://shop.example.cn/hook", events=events, actor=None
    )
    return endpoint


def test_a_failed_interception_tells_customer_service_and_the_merchants_webhook(robots):
    cs = channel("wecom", robots.wecom_url("CS"), audience=Audience.CUSTOMER_SERVICE)
    contract = factories.active_contract()
    endpoint = _webhook(contract.merchant, ["interception.started", "interception.failed"])
    order = factories.intercepted(contract, result="failed")
    (n,) = Notification.objects.filter(channel=cs)
    assert n.title == "拦截失败，请在处理时限内决定" and order.tracking_number in n.line
    assert n.link.endswith(f"/admin/interception/interceptionorder/{order.pk}/change/")
    events = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").values_list("event", flat=True))
    assert events == ["interception.started", "interception.failed"]
    failed = WebhookDelivery.objects.get(event="interception.failed")
    assert failed.payload["data"]["tracking_number"] == order.tracking_number
    assert failed.payload["data"]["failure_code"] == "signed"
    deliver()
    assert "拦截失败" in robots.bodies("CS")[0]["markdown"]["content"]


def test_a_success_reaches_only_the_webhooks_that_chose_it():
    contract = factories.active_contract()
    chose = _webhook(contract.merchant, ["interception.succeeded"])
    other = _webhook(factories.MerchantFactory(), ["interception.succeeded"])
    factories.intercepted(contract, result="succeeded")
    assert WebhookDelivery.objects.filter(endpoint=chose, event="interception.succeeded").count() == 1
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()
    assert not Notification.objects.exists()  # a success needs nobody


def test_a_new_application_waiting_tells_its_outlet_grouped(robots):
    merchant, outlet = factories.contract_setup()
    mine = channel("wecom", robots.wecom_url("O"), audience=Audience.OUTLET, outlet=outlet)
    contract = factories.apply(merchant, outlet)
    if contract.state != "pending":
        pytest.skip("the seeded terms approve applications at once")
    second_merchant, _ = factories.contract_setup(outlet=outlet)
    factories.apply(second_merchant, outlet)
    assert Notification.objects.filter(channel=mine, event="contract.applied").count() == 2
    deliver()
    (body,) = robots.bodies("O")
    assert body["markdown"]["content"].startswith("**新的拦截合作申请待处理（2）**")


def test_a_rolled_back_application_tells_nobody(robots):
    merchant, outlet = factories.contract_setup()
    channel("wecom", robots.wecom_url("O"), audience=Audience.OUTLET, outlet=outlet)
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.apply(merchant, outlet)
        raise RuntimeError
    assert not Notification.objects.exists()


def test_remind_the_outlet_at_most_once_per_nudge_hours_on_the_timeline(robots, settings):
    settings.NUDGE_HOURS = 24
    merchant, outlet = factories.contract_setup()
    channel("wecom", robots.wecom_url("O"), audience=Audience.OUTLET, outlet=outlet)
    contract = factories.apply(merchant, outlet)
    if contract.state != "pending":
        pytest.skip("the seeded terms approve applications at once")
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    contract_nudge(contract_id=contract.pk, actor=cs)
    with pytest.raises(DomainError) as refused:
        contract_nudge(contract_id=contract.pk, actor=cs)
    assert refused.value.code == "nudged_recently"
    assert [e.transition for e in entries_for(contract)].count("nudge") == 1
    assert Notification.objects.filter(event="contract.nudge").count() == 1


def test_the_nudge_button_in_the_admin(client, robots):
    merchant, outlet = factories.contract_setup()
    contract = factories.apply(merchant, outlet)
    if contract.state != "pending":
        pytest.skip("the seeded terms approve applications at once")
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    page = client.get(f"/admin/interception/contract/{contract.pk}/change/").content.decode()
    assert "/do/nudge/" in page
    assert client.post(f"/admin/interception/contract/{contract.pk}/do/nudge/").status_code == 302
    assert [e.transition for e in entries_for(contract)][-1] == "nudge"


def test_statements_issued_tell_the_outlet_and_answers_tell_finance(robots, two_outlets):
    outlet = two_outlets["a"]
    at_outlet = channel("wecom", robots.wecom_url("O"), audience=Audience.OUTLET, outlet=outlet)
    fin = channel("email", audience=Audience.FINANCE, recipients="fin@example.cn")
    finance = factories.user("fin", roles.FINANCE)
    merchant, _ = factories.contract_setup(outlet=outlet)
    contract = factories.apply(merchant, outlet, fee="4.50")
    if contract.state == "pending":
        services.contract_approve(contract_id=contract.pk, actor=None)
        contract.refresh_from_db()
    factories.intercepted(contract, at=datetime(2026, 11, 2, 12, tzinfo=SH))
    statement = settlement.statement_generate(
        actor=finance, merchant=merchant, outlet=outlet, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30)
    ).statement
    settlement.statement_issue(statement_id=statement.pk, actor=finance)
    assert Notification.objects.filter(channel=at_outlet, event="statement.issued").count() == 1
    settlement.statement_dispute(statement_id=statement.pk, actor=two_outlets["staff_a"], reason="少了一单")
    (n,) = Notification.objects.filter(channel=fin)
    assert n.event == "statement.disputed" and "少了一单" in n.line and n.title == "网点对账单有异议"
