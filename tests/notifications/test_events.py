"""The remaining events (docs/notifications.md): claims to the outlet and customer service, the arbitration window,
a reconciliation with differences to finance, and the after-sale and claim webhooks."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services as claims
from claims.notify import arbitration_windows_open
from interception import services
from notifications.models import Audience, Notification, WebhookDelivery
from portal import roles
from settlement import services as settlement
from tests import factories
from tests.claims.test_claims import SUCCEEDED, returned_badly
from tests.notifications.helpers import channel
from tests.notifications.test_hooks import _webhook

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _told(ch):
    return list(Notification.objects.filter(channel=ch).order_by("id").values_list("event", "title"))


def test_R25_a_claim_and_its_proposals_reach_the_other_side():
    order = returned_badly("lost")
    outlet_ch = channel("email", audience=Audience.OUTLET, outlet=order.outlet, recipients="o@example.cn")
    cs_ch = channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    staff = factories.outlet_staff("yto_staff", order.outlet)
    claim = claims.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    claims.claim_propose(claim_id=claim.pk, actor=staff, amount="80.00")  # the outlet's offer: to customer service
    claims.claim_propose(claim_id=claim.pk, actor=cs, amount="100.00")  # against the outlet: to the outlet
    assert _told(outlet_ch) == [("claim.filed", "对您的索赔"), ("claim.proposed", "向您提出的索赔金额")]
    assert _told(cs_ch) == [("claim.proposed", "网点提出的索赔金额")]
    (offer,) = Notification.objects.filter(channel=cs_ch)
    assert f"#{claim.pk}" in offer.line and "80.00" in offer.line and order.tracking_number in offer.line
    assert offer.link.endswith(f"/admin/claims/claim/{claim.pk}/change/")


def test_R25_an_award_tells_customer_service():
    order = returned_badly("lost")
    cs_ch = channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    claim = claims.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    claims.claim_propose(claim_id=claim.pk, actor=cs, amount="100.00")
    claims.claim_escalate(claim_id=claim.pk, actor=cs, reason="no agreement", now=SUCCEEDED + timedelta(days=10))
    claims.claim_award(claim_id=claim.pk, actor=cs, amount="90.00")
    awarded = Notification.objects.get(channel=cs_ch, event="claim.awarded")
    assert awarded.title == "平台仲裁裁定的索赔" and "90.00" in awarded.line


def test_R25_the_arbitration_window_opening_tells_customer_service_once_per_claim():
    order = returned_badly("lost")  # succeeded 2026-11-01: arbitration from day 7 (11-08) to day 30 (12-01)
    cs_ch = channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    claim = claims.claim_file(actor=cs, interception_id=order.pk, kind="loss", now=SUCCEEDED + timedelta(days=1))
    assert arbitration_windows_open(now=datetime(2026, 11, 7, 23, 59, tzinfo=SH)) == 0
    assert services.deadlines_process(now=datetime(2026, 11, 8, 0, 1, tzinfo=SH)).others == 1
    assert arbitration_windows_open(now=datetime(2026, 11, 9, 9, 0, tzinfo=SH)) == 0  # once
    (n,) = Notification.objects.filter(channel=cs_ch, event="claim.arbitration_open")
    assert n.title == "可申请平台仲裁、尚未达成一致的索赔"
    assert f"#{claim.pk}" in n.line and "2026-12-01" in n.line


def test_an_agreed_claim_hears_nothing_of_arbitration():
    order = returned_badly("lost")
    cs_ch = channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    staff = factories.outlet_staff("yto_staff", order.outlet)
    claim = claims.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    claims.claim_propose(claim_id=claim.pk, actor=staff, amount="80.00")
    claims.claim_accept(claim_id=claim.pk, actor=cs)
    assert arbitration_windows_open(now=datetime(2026, 11, 10, tzinfo=SH)) == 0
    assert not Notification.objects.filter(channel=cs_ch, event="claim.arbitration_open").exists()


def test_every_change_of_a_claim_reaches_the_merchants_webhook():
    order = returned_badly("lost")
    endpoint = _webhook(order.merchant, ["claim.changed"])
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    staff = factories.outlet_staff("yto_staff", order.outlet)
    claim = claims.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    claims.claim_propose(claim_id=claim.pk, actor=staff, amount="80.00")
    claims.claim_accept(claim_id=claim.pk, actor=cs)
    payloads = [d.payload["data"] for d in WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")]
    assert [(p["transition"], p["state"]) for p in payloads] == [
        ("file", "filed"),
        ("propose", "negotiating"),
        ("accept", "agreed"),
    ]
    assert payloads[-1]["final_amount"] == "80.00" and payloads[-1]["claim_id"] == claim.pk


def test_an_after_sale_refunded_or_refused_reaches_the_merchants_webhook():
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    contract = factories.active_contract()
    endpoint = _webhook(contract.merchant, ["aftersale.refunded", "aftersale.refused"])
    failed = factories.intercepted(contract, result="failed")
    services.aftersale_refuse(after_sale_id=failed.after_sale_id, actor=cs, reason="拦截失败，包裹已签收")
    succeeded = factories.intercepted(contract, result="succeeded")  # refunded by the success itself
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id"))
    assert [(d.event, d.payload["data"]["after_sale_id"]) for d in deliveries] == [
        ("aftersale.refused", failed.after_sale_id),
        ("aftersale.refunded", succeeded.after_sale_id),
    ]
    assert deliveries[0].payload["data"]["reason"] == "拦截失败，包裹已签收"
    assert deliveries[1].payload["data"]["tracking_number"] == succeeded.tracking_number


def test_R15_a_window_ending_refunds_and_tells_the_merchants_webhook():
    order = factories.started()
    endpoint = _webhook(order.merchant, ["aftersale.refunded"])
    order.after_sale.refresh_from_db()
    services.deadlines_process(now=order.after_sale.window_ends_at + timedelta(minutes=1))
    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.payload["data"]["state"] == "refunded"


def test_a_reconciliation_with_differences_tells_finance_and_a_clean_one_does_not():
    finance = factories.user("fin", roles.FINANCE)
    fin_ch = channel("email", audience=Audience.FINANCE, recipients="fin@example.cn")
    contract = factories.active_contract(fee="4.50", carrier_code="zto")
    orders = [factories.intercepted(contract, at=datetime(2026, 11, d, 12, tzinfo=SH)) for d in (1, 2)]
    statement = settlement.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement

    def bill(*rows):
        text = "tracking_number,date,fee\n" + "".join(f"{t},2026-11-01,{fee}\n" for t, fee in rows)
        return SimpleUploadedFile("bill.csv", text.encode())

    a, b = (o.tracking_number for o in orders)
    settlement.reconciliation_run(statement_id=statement.pk, actor=finance, uploaded=bill((a, "4.50"), (b, "4.50")))
    assert not Notification.objects.filter(channel=fin_ch).exists()
    rec = settlement.reconciliation_run(statement_id=statement.pk, actor=finance, uploaded=bill((a, "5.00")))
    (n,) = Notification.objects.filter(channel=fin_ch)
    assert n.event == "reconciliation.differs" and n.title == "有差异的对账"
    assert "2 行有差异" in n.line  # a's fee, b not billed
    assert n.link.endswith(f"/admin/settlement/reconciliation/{rec.pk}/change/")
