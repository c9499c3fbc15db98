"""kuaidi100 tracking: parcels subscribed when they arrive (at the service's rate, at most 4 times a month a
number), pushes verified and mapped to our logistics statuses, every trail entry kept once although kuaidi100
pushes the whole trail each time; shutdown ends the subscription, abort has it subscribed again 30 minutes on,
updateall replaces the trail."""

import copy
import json
from datetime import timedelta
from urllib.parse import urlencode

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from interception import services
from interception.models import (
    CarrierCall,
    CarrierEvent,
    EwaybillAccount,
    LogisticsStatus,
    Parcel,
    Subscription,
    TrackingEvent,
)
from interception.services import subscriptions
from tests import factories
from tests.interception.kuaidi100_fake import FIXTURES, KEY, SALT, SUBSCRIBE_ANSWERS, push_form

pytestmark = pytest.mark.django_db
PUSH = json.loads((FIXTURES / "push_tracking.json").read_text(encoding="utf-8"))["param"]


def arrived(carrier_code="zto"):
    """A parcel registered through the service, before any tracking."""
    return factories.parcel_for(factories.active_contract(carrier_code=carrier_code), status=None)


def subscribed(parcel):
    subscriptions.parcel_subscribe(
        parcel=Parcel.objects.select_related("carrier").get(pk=parcel.pk), now=timezone.now()
    )
    parcel.refresh_from_db()
    return parcel


def at(minutes_ago):
    return timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M:%S")


def entry(minutes_ago, context, code, words=""):
    return {"time": at(minutes_ago), "ftime": at(minutes_ago), "context": context, "status": words, "statusCode": code}


def trail(parcel, entries, *, status="polling", state=None):
    """A push of `entries` (newest first) for the parcel, as kuaidi100 builds it."""
    param = copy.deepcopy(PUSH)
    param["status"] = status
    param["lastResult"].update(nu=parcel.tracking_number, data=entries)
    if state is not None:
        param["lastResult"]["state"] = state
    return param


def push(client, param, *, salt=SALT):
    return client.post(
        "/api/v1/carriers/zto/events/",
        data=urlencode(push_form(param, salt)),
        content_type="application/x-www-form-urlencoded",
    )


def polls(k100):
    return [param for path, _form, param in k100.requests if path == "/poll"]


def events(parcel):
    return list(TrackingEvent.objects.filter(parcel=parcel).order_by("at").values_list("status", "raw_text"))


# -- subscribing -----------------------------------------------------------------------------------------------


def test_a_parcel_of_a_kuaidi100_carrier_is_due_when_it_arrives_and_others_are_not(k100_zto):
    before = timezone.now()
    parcel = arrived()
    assert parcel.subscription == Subscription.DUE and before <= parcel.resubscribe_at <= timezone.now()
    assert arrived("jt").subscription == Subscription.NONE  # the sandbox pushes no tracking


def test_the_runner_subscribes_due_parcels_signed_with_our_callback(k100, k100_zto):
    parcel = arrived()
    report = services.deadlines_process(now=timezone.now())
    assert report.subscribed == 1
    parcel.refresh_from_db()
    assert parcel.subscription == Subscription.SUBSCRIBED and parcel.resubscribe_at is None
    (param,) = polls(k100)
    assert (param["company"], param["number"], param["key"]) == ("zhongtong", parcel.tracking_number, KEY)
    assert param["parameters"] == {
        "callbackurl": "https://portal.example/api/v1/carriers/zto/events/",
        "salt": SALT,
        "resultv2": "4",
    }
    call = CarrierCall.objects.get(parcel=parcel)
    assert call.operation == "subscribe" and call.outcome == "ok" and call.tracking_number == parcel.tracking_number
    assert KEY not in call.request and SALT not in call.request
    assert services.deadlines_process(now=timezone.now()).subscribed == 0  # asked once


def test_already_subscribed_501_counts_as_subscribed(k100, k100_zto):
    k100.script("501")
    assert subscribed(arrived()).subscription == Subscription.SUBSCRIBED


def test_a_server_error_500_is_asked_again_later_with_backoff(k100, k100_zto):
    parcel = arrived()
    k100.script("500", "500")
    now = timezone.now()
    parcel = subscribed(parcel)
    assert parcel.subscription == Subscription.DUE and parcel.resubscribe_at >= now + timedelta(minutes=1)
    first = parcel.resubscribe_at
    assert services.deadlines_process(now=first - timedelta(seconds=1)).subscribed == 0
    assert services.deadlines_process(now=first).subscribed == 1
    parcel.refresh_from_db()
    assert parcel.resubscribe_at >= now + timedelta(minutes=5)  # the second busy answer waits longer
    assert services.deadlines_process(now=parcel.resubscribe_at).subscribed == 1
    parcel.refresh_from_db()
    assert parcel.subscription == Subscription.SUBSCRIBED


@pytest.mark.parametrize("code", ["600", "601", "700", "701", "702"])
def test_a_refusing_code_refuses_the_subscription_with_its_message_logged(k100, k100_zto, code):
    k100.script(code)
    parcel = subscribed(arrived())
    assert parcel.subscription == Subscription.REFUSED and parcel.resubscribe_at is None
    call = CarrierCall.objects.get(parcel=parcel)
    assert call.outcome == "refused" and call.service_code == code
    assert call.service_message == SUBSCRIBE_ANSWERS[code]["message"]


def test_at_most_four_subscriptions_of_a_number_in_30_days(k100, k100_zto):
    parcel = arrived()
    for _ in range(4):
        Parcel.objects.filter(pk=parcel.pk).update(subscription=Subscription.DUE, resubscribe_at=timezone.now())
        assert subscribed(parcel).subscription == Subscription.SUBSCRIBED
    Parcel.objects.filter(pk=parcel.pk).update(subscription=Subscription.DUE, resubscribe_at=timezone.now())
    parcel = subscribed(parcel)
    assert len(polls(k100)) == 4  # the fifth was not sent
    oldest = CarrierCall.objects.filter(parcel=parcel).order_by("at").first().at
    assert parcel.subscription == Subscription.DUE and parcel.resubscribe_at == oldest + timedelta(days=30)


def test_the_pacer_never_sends_more_than_the_rate_in_any_second():
    clock = [0.0]
    sent = []
    pacer = subscriptions.Pacer(20, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    for _ in range(65):
        pacer.wait()
        sent.append(clock[0])
        clock[0] += 0.001  # each request takes a millisecond
    assert all(sent[i + 20] - sent[i] >= 1.0 - 1e-9 for i in range(len(sent) - 20))  # float sums
    assert sent[-1] < 4.0  # and it does send at the rate
    pacer.drain()
    assert clock[0] - sent[-1] >= 1.0 - 1e-9  # the next runner starts on a clear second


def test_a_pass_subscribes_at_most_its_batch_paced(k100, k100_zto, settings):
    settings.KUAIDI100_SUBSCRIBE_RATE = 3
    parcels = [arrived() for _ in range(5)]
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    asked = subscriptions.subscriptions_process(now=timezone.now(), limit=4, clock=lambda: clock[0], sleep=sleep)
    assert asked == 4 and len(polls(k100)) == 4
    assert slept  # the fourth waited for the first to be a second old
    states = sorted(Parcel.objects.filter(pk__in=[p.pk for p in parcels]).values_list("subscription", flat=True))
    assert states == [Subscription.DUE] + [Subscription.SUBSCRIBED] * 4


@pytest.mark.django_db(transaction=True)
def test_a_second_runner_skips_subscribing_while_another_has_the_step(k100, k100_zto):
    arrived()
    params = connection.get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")})
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [subscriptions.ADVISORY_LOCK])
        assert subscriptions.subscriptions_process(now=timezone.now()) == 0
        assert polls(k100) == []
        other.execute("SELECT pg_advisory_unlock(%s)", [subscriptions.ADVISORY_LOCK])
        assert subscriptions.subscriptions_process(now=timezone.now(), sleep=lambda s: None) == 1
    finally:
        other.close()


# -- pushes ----------------------------------------------------------------------------------------------------

STATES = [
    # (statusCode, words, our status)
    ("0", "在途", LogisticsStatus.IN_TRANSIT),
    ("1001", "在途", LogisticsStatus.IN_TRANSIT),
    ("1002", "在途", LogisticsStatus.IN_TRANSIT),
    ("1003", "在途", LogisticsStatus.IN_TRANSIT),
    ("1", "揽收", LogisticsStatus.PICKED_UP),
    ("101", "揽收", LogisticsStatus.PICKED_UP),
    ("102", "揽收", LogisticsStatus.PICKED_UP),
    ("103", "揽收", LogisticsStatus.PICKED_UP),
    ("2", "疑难", LogisticsStatus.PROBLEM),
    ("201", "疑难", LogisticsStatus.PROBLEM),  # a 2xx sub-code the table does not list: its state's
    ("3", "签收", LogisticsStatus.SIGNED),
    ("301", "签收", LogisticsStatus.SIGNED),
    ("302", "签收", LogisticsStatus.SIGNED),
    ("303", "签收", LogisticsStatus.SIGNED),
    ("304", "签收", LogisticsStatus.SIGNED),
    ("4", "退签", LogisticsStatus.RETURNED),
    ("401", "退签", LogisticsStatus.PROBLEM),
    ("5", "派件", LogisticsStatus.OUT_FOR_DELIVERY),
    ("501", "派件", LogisticsStatus.AWAITING_PICKUP),
    ("6", "退回", LogisticsStatus.RETURNING),
    ("7", "转投", LogisticsStatus.IN_TRANSIT),
    ("8", "清关", LogisticsStatus.IN_TRANSIT),
    ("10", "待清关", LogisticsStatus.IN_TRANSIT),
    ("11", "清关中", LogisticsStatus.IN_TRANSIT),
    ("12", "已清关", LogisticsStatus.IN_TRANSIT),
    ("13", "清关异常", LogisticsStatus.IN_TRANSIT),
    ("14", "拒签", LogisticsStatus.PROBLEM),
    ("", "签收", LogisticsStatus.SIGNED),  # no sub-code: the state's words
]


@pytest.mark.parametrize(("code", "words", "ours"), STATES)
def test_every_state_in_the_table_maps_to_our_status(client, k100, k100_zto, code, words, ours):
    parcel = arrived()
    response = push(client, trail(parcel, [entry(5, f"{words} {code}", code, words)]))
    assert response.json() == {"result": True, "returnCode": "200", "message": "成功"}
    parcel.refresh_from_db()
    assert parcel.last_status == ours and events(parcel) == [(ours, f"{words} {code}")]


def test_an_entry_we_cannot_place_takes_the_state_when_newest(client, k100, k100_zto):
    parcel = arrived()
    entries = [entry(5, "newest", "999"), entry(60, "older", "999")]
    push(client, trail(parcel, entries, state="5"))
    assert events(parcel) == [(LogisticsStatus.IN_TRANSIT, "older"), (LogisticsStatus.OUT_FOR_DELIVERY, "newest")]


def test_a_problem_parcel_can_still_be_intercepted(client, k100, k100_zto):
    after_sale = factories.interceptable(carrier_code="zto", status=None)
    push(client, trail(after_sale.parcel, [entry(5, "疑难件", "2"), entry(60, "已揽收", "1")]))
    after_sale.parcel.refresh_from_db()
    assert after_sale.parcel.last_status == LogisticsStatus.PROBLEM
    assert services.interception_preview(after_sale).problems == []


def test_the_whole_trail_pushed_again_keeps_every_event_once(client, k100, k100_zto):
    parcel = arrived()
    first = [entry(60, "【金华市】快件已发往 杭州转运中心", "0"), entry(120, "【金华市】义乌网点 已揽收", "1")]
    push(client, trail(parcel, first))
    push(client, trail(parcel, first))
    later = [entry(5, "【杭州市】快件已到达 杭州转运中心", "1002"), *first]
    push(client, trail(parcel, later))
    assert events(parcel) == [
        (LogisticsStatus.PICKED_UP, "【金华市】义乌网点 已揽收"),
        (LogisticsStatus.IN_TRANSIT, "【金华市】快件已发往 杭州转运中心"),
        (LogisticsStatus.IN_TRANSIT, "【杭州市】快件已到达 杭州转运中心"),
    ]
    assert CarrierEvent.objects.filter(tracking_number=parcel.tracking_number).count() == 3


def test_the_recorded_push_is_applied(client, k100, k100_zto):
    parcel = arrived()
    param = copy.deepcopy(PUSH)
    param["lastResult"]["nu"] = parcel.tracking_number
    assert push(client, param).json()["result"] is True
    assert [s for s, _t in events(parcel)] == [
        LogisticsStatus.PICKED_UP,
        LogisticsStatus.IN_TRANSIT,
        LogisticsStatus.IN_TRANSIT,
    ]


def test_shutdown_ends_the_subscription(client, k100, k100_zto):
    parcel = subscribed(arrived())
    push(client, trail(parcel, [entry(5, "已签收", "301")], status="shutdown", state="3"))
    parcel.refresh_from_db()
    assert parcel.subscription == Subscription.ENDED and parcel.last_status == LogisticsStatus.SIGNED


def test_abort_is_subscribed_again_by_the_runner_30_minutes_on(client, k100, k100_zto):
    parcel = subscribed(arrived())
    before = timezone.now()
    param = {**trail(parcel, [], status="abort"), "message": "3天查询无记录"}
    assert push(client, param).json()["result"] is True
    parcel.refresh_from_db()
    assert parcel.subscription == Subscription.DUE
    assert before + timedelta(minutes=30) <= parcel.resubscribe_at <= timezone.now() + timedelta(minutes=30)
    assert services.deadlines_process(now=parcel.resubscribe_at - timedelta(minutes=1)).subscribed == 0
    assert services.deadlines_process(now=parcel.resubscribe_at).subscribed == 1
    parcel.refresh_from_db()
    assert parcel.subscription == Subscription.SUBSCRIBED and len(polls(k100)) == 2


def test_updateall_replaces_the_trail(client, k100, k100_zto):
    parcel = arrived()
    push(client, trail(parcel, [entry(30, "派件中", "5"), entry(60, "转运中", "0"), entry(120, "已揽收", "1")]))
    parcel.refresh_from_db()
    assert parcel.last_status == LogisticsStatus.OUT_FOR_DELIVERY
    # kuaidi100 re-pushes the trail corrected: the delivery scan was another parcel's, a new scan came.
    corrected = [entry(10, "到达杭州转运中心", "1002"), entry(60, "转运中", "0"), entry(120, "已揽收", "1")]
    assert push(client, trail(parcel, corrected, status="updateall")).json()["result"] is True
    parcel.refresh_from_db()
    assert events(parcel) == [
        (LogisticsStatus.PICKED_UP, "已揽收"),
        (LogisticsStatus.IN_TRANSIT, "转运中"),
        (LogisticsStatus.IN_TRANSIT, "到达杭州转运中心"),
    ]
    assert parcel.last_status == LogisticsStatus.IN_TRANSIT
    assert parcel.last_event_at == TrackingEvent.objects.filter(parcel=parcel).order_by("-at").first().at


def test_a_tracking_push_with_a_bad_sign_is_refused_and_stores_nothing(client, k100, k100_zto):
    parcel = arrived()
    body = push(client, trail(parcel, [entry(5, "在途", "0")]), salt="wrong").json()
    assert body["result"] is False and body["returnCode"] == "401"
    assert not TrackingEvent.objects.filter(parcel=parcel).exists() and not CarrierEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"data": [{"time": "yesterday", "context": "x", "statusCode": "0"}]}, "lastResult.data[0].ftime"),
        ({"data": [{"ftime": "2026-11-20 10:00:00", "context": "长" * 501}]}, "lastResult.data[0].context"),
        ({"nu": "N" * 41}, "lastResult.nu"),
    ],
)
def test_a_malformed_push_is_refused_naming_the_field(client, k100, k100_zto, change, field):
    parcel = arrived()
    param = trail(parcel, [entry(5, "在途", "0")])
    if "status" in change:
        param.update(change)
    else:
        param["lastResult"].update(change)
    body = push(client, param).json()
    assert body["result"] is False and body["returnCode"] == "400"
    assert body["message"].startswith(f"invalid_event [{field}]")
    assert not CarrierEvent.objects.exists()


def test_a_future_dated_entry_is_refused(client, k100, k100_zto):
    parcel = arrived()
    body = push(client, trail(parcel, [entry(-60, "来自未来", "0")])).json()
    assert body["result"] is False and body["returnCode"] == "400"


def test_r17_a_succeeded_interceptions_return_leg_follows_the_trail_returning_then_signed_by_the_sender(
    client, k100, k100_zto
):
    """kuaidi100 sends no return result: 退回 (6) starts the return leg, 退签 (4) closes it as returned."""
    contract = factories.active_contract(carrier_code="zto")
    account = EwaybillAccount.objects.get(merchant=contract.merchant, outlet=contract.outlet)
    account.set_credentials({"partnerId": "P-1", "partnerKey": "pk"})
    account.save()
    order = factories.intercepted(contract, result="succeeded")
    parcel = order.parcel
    earlier = [entry(120, "【杭州市】快件已拦截", "0")]
    push(client, trail(parcel, [entry(60, "【杭州市】快件退回中", "6"), *earlier]))
    order.refresh_from_db()
    assert order.state == "returning"
    push(
        client,
        trail(parcel, [entry(5, "【义乌市】寄件人已签收退件", "4"), entry(60, "【杭州市】快件退回中", "6"), *earlier]),
    )
    order.refresh_from_db()
    assert order.state == "returned" and order.returned_at is not None


def test_a_returned_trail_of_a_parcel_never_intercepted_only_records_the_trail(client, k100, k100_zto):
    parcel = arrived()
    push(client, trail(parcel, [entry(5, "寄件人已签收退件", "4")]))
    parcel.refresh_from_db()
    assert parcel.last_status == LogisticsStatus.RETURNED and not parcel.interceptions.exists()
