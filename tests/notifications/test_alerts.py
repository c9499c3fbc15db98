"""What the runner tells people on its own: handling windows ending soon (R15), the outlets' daily digest,
carriers whose submissions keep failing. Each once, however many runners and passes."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from interception import services
from interception.models import CarrierCall
from interception.services.alerts import carrier_failures_alert, digests_send, windows_warn
from notifications.delivery import deliver
from notifications.models import Audience, Notification
from portal import roles
from portal.env import ConfigError, read_settings
from tests import factories
from tests.notifications.helpers import channel

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_digest_hour_defaults_to_nine_and_must_be_an_hour_of_the_day(settings):
    assert read_settings({}, base_dir=settings.BASE_DIR)["digest_hour"] == 9
    assert read_settings({"DIGEST_HOUR": "0"}, base_dir=settings.BASE_DIR)["digest_hour"] == 0
    for bad in ("24", "-1", "nine", "9.5"):
        with pytest.raises(ConfigError, match="DIGEST_HOUR"):
            read_settings({"DIGEST_HOUR": bad}, base_dir=settings.BASE_DIR)


def test_R15_a_window_ending_within_the_warning_hours_warns_customer_service_once(robots, settings):
    settings.WINDOW_WARNING_HOURS = 12
    cs = channel("wecom", robots.wecom_url("CS"), audience=Audience.CUSTOMER_SERVICE)
    order = factories.started()
    after_sale = order.after_sale
    after_sale.refresh_from_db()
    ends = after_sale.window_ends_at
    assert windows_warn(now=ends - timedelta(hours=13)) == 0  # not yet
    assert services.deadlines_process(now=ends - timedelta(hours=11)).warned == 1
    assert windows_warn(now=ends - timedelta(hours=10)) == 0  # once per after-sale
    (n,) = Notification.objects.filter(channel=cs)
    assert n.title == "处理时限即将结束、尚未决定的售后单"
    assert after_sale.number in n.line and after_sale.parcel.tracking_number in n.line
    assert timezone_text(ends) in n.line
    assert n.link.endswith(f"/admin/interception/aftersale/{after_sale.pk}/change/")
    deliver(now=ends - timedelta(hours=10))
    assert after_sale.number in robots.bodies("CS")[0]["markdown"]["content"]


def timezone_text(at):
    return at.astimezone(SH).strftime("%m-%d %H:%M")


def test_a_decided_after_sale_or_an_ended_window_warns_nobody(settings):
    settings.WINDOW_WARNING_HOURS = 12
    channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    decided = factories.started().after_sale
    services.aftersale_agree_refund(after_sale_id=decided.pk, actor=factories.user("cs", roles.CUSTOMER_SERVICE))
    decided.refresh_from_db()
    assert windows_warn(now=decided.window_ends_at - timedelta(hours=1)) == 0
    ended = factories.started().after_sale
    ended.refresh_from_db()
    assert windows_warn(now=ended.window_ends_at + timedelta(minutes=1)) == 0
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_warn_of_a_window_once(settings):
    settings.WINDOW_WARNING_HOURS = 12
    cs = channel("email", audience=Audience.CUSTOMER_SERVICE, recipients="cs@example.cn")
    after_sales = [factories.started().after_sale for _ in range(3)]
    for a in after_sales:
        a.refresh_from_db()
    now = max(a.window_ends_at for a in after_sales) - timedelta(hours=1)
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            windows_warn(now=now, batch=1)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    told = sorted(Notification.objects.filter(channel=cs).values_list("subject_id", flat=True))
    assert told == sorted(a.pk for a in after_sales)


def _waiting(outlet, days, now):
    """A pending application at `outlet` that has waited `days` days at `now`."""
    merchant, _ = factories.contract_setup(outlet=outlet)
    contract = factories.apply(merchant, outlet)
    assert contract.state == "pending"
    type(contract).objects.filter(pk=contract.pk).update(applied_at=now - timedelta(days=days))
    return contract


def test_the_daily_digest_tells_each_outlet_what_waited_over_1_3_and_7_days_once_a_day(robots, settings):
    settings.DIGEST_HOUR = 9
    outlet = factories.OutletFactory()
    mine = channel("wecom", robots.wecom_url("O"), audience=Audience.OUTLET, outlet=outlet)
    quiet = factories.OutletFactory()  # its only application is fresh: nothing to tell
    quiet_channel = channel("wecom", robots.wecom_url("Q"), audience=Audience.OUTLET, outlet=quiet)
    morning = datetime(2026, 12, 2, 9, 5, tzinfo=SH)
    for days in (0.5, 2, 4, 8):
        _waiting(outlet, days, morning)
    _waiting(quiet, 0.2, morning)
    Notification.objects.all().delete()  # the "new application" messages
    assert digests_send(now=morning.replace(hour=8, minute=59)) == 0  # before the hour
    assert digests_send(now=morning) == 1
    assert digests_send(now=morning + timedelta(hours=5)) == 0  # once a day
    (n,) = Notification.objects.filter(channel=mine)
    assert n.title == "每日汇总 12-02：等待您决定"
    assert n.line == "合作申请：超过1天 3 项（超过3天 2 项，超过7天 1 项）"
    assert n.link.endswith("/admin/interception/contract/?waiting_days=1")
    assert not Notification.objects.filter(channel=quiet_channel).exists()
    assert digests_send(now=morning + timedelta(days=1)) == 2  # the next day again (the quiet one waited a day)
    deliver(now=morning + timedelta(days=1))
    assert "超过7天 1 项" in robots.bodies("O")[0]["markdown"]["content"]


def test_the_digest_counts_fee_changes_waiting_too(settings):
    settings.DIGEST_HOUR = 9
    contract = factories.active_contract()
    mine = channel("email", audience=Audience.OUTLET, outlet=contract.outlet, recipients="o@example.cn")
    amendment = services.contract_amend_fee(contract_id=contract.pk, new_fee="6.00", actor=None)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=SH)
    type(amendment).objects.filter(pk=amendment.pk).update(requested_at=now - timedelta(days=3.5))
    Notification.objects.all().delete()
    assert digests_send(now=now) == 1
    (n,) = Notification.objects.filter(channel=mine)
    assert n.line == "费用变更：超过1天 1 项（超过3天 1 项，超过7天 0 项）"
    assert "/admin/interception/feeamendment/" in n.link


def _failed_submissions(carrier, n, at):
    CarrierCall.objects.bulk_create(
        CarrierCall(carrier=carrier, operation="submit", outcome="retry", at=at - timedelta(minutes=i))
        for i in range(n)
    )


def test_repeated_submission_failures_at_a_carrier_alert_supervisors_once_an_hour(settings):
    settings.CARRIER_FAILURE_ALERT = 5
    sup = channel("email", audience=Audience.SUPERVISORS, recipients="sup@example.cn")
    jt, sf = factories.carrier("jt"), factories.carrier("sf")
    now = datetime(2026, 12, 2, 10, 30, tzinfo=SH)
    _failed_submissions(jt, 5, now)
    _failed_submissions(sf, 4, now)  # below the threshold
    CarrierCall.objects.create(carrier=sf, operation="submit", outcome="ok", at=now)
    assert carrier_failures_alert(now=now) == 1
    assert carrier_failures_alert(now=now + timedelta(minutes=10)) == 0  # once in this hour
    (n,) = Notification.objects.filter(channel=sup)
    assert n.title == "承运商拦截提交持续失败"
    assert jt.name in n.line and "5" in n.line
    _failed_submissions(jt, 5, now + timedelta(minutes=40))
    assert carrier_failures_alert(now=now + timedelta(minutes=40)) == 1  # the next hour
