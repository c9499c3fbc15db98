"""Carrier callbacks: signed, idempotent, never a 500 for the carrier's ordering (R13, R14)."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from interception import carriers, sandbox_carrier, services
from interception.carriers import sandbox
from interception.models import AfterSale, CarrierEvent, Parcel, TrackingEvent
from kernel import timeline
from tests import factories

pytestmark = pytest.mark.django_db
SECRET = factories.CALLBACK_SECRET


def post(client, payload, *, carrier="jt", t=None, secret=SECRET, signature=None):
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    header = signature if signature is not None else carriers.sign(secret, body, t or time.time())
    return client.post(
        f"/api/v1/carriers/{carrier}/events/", data=body, content_type="application/json", HTTP_X_SIGNATURE=header
    )


def event(event_id, kind, tracking_number, at=None, **fields):
    at = at or timezone.now()
    return {
        "event_id": event_id,
        "type": kind,
        "tracking_number": tracking_number,
        "occurred_at": timezone.localtime(at).isoformat(),
        **fields,
    }


def test_bad_signature_is_401_and_stores_nothing(client, jt):
    response = post(client, event("e1", "tracking", "JT1", status="in_transit"), secret="wrong")
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert post(client, event("e1", "tracking", "JT1", status="in_transit"), signature="").status_code == 401
    assert not CarrierEvent.objects.exists()


def test_stale_timestamp_is_401(client, jt):
    response = post(client, event("e1", "tracking", "JT1", status="in_transit"), t=time.time() - 301)
    assert response.status_code == 401 and response.json()["code"] == "stale_signature"
    assert post(client, event("e2", "tracking", "JT1", status="in_transit"), t=time.time() + 301).status_code == 401
    assert post(client, event("e3", "tracking", "JT1", status="in_transit"), t=time.time() - 290).status_code == 202


def test_duplicate_event_answers_200_and_changes_nothing(client, jt):
    order = factories.started()
    payload = event("dup-1", "tracking", order.tracking_number, status="in_transit", text="到达杭州转运中心")
    first = post(client, payload)
    assert first.status_code == 200 and first.json()["code"] == "applied"
    before = TrackingEvent.objects.count()
    again = post(client, payload)
    assert again.status_code == 200 and again.json() == {"duplicate": True, "event_id": "dup-1"}
    assert TrackingEvent.objects.count() == before
    assert CarrierEvent.objects.filter(event_id="dup-1").count() == 1


def test_unknown_parcel_is_stored_and_applied_when_the_parcel_arrives(client, jt):
    response = post(client, event("early-1", "tracking", "JT7777", status="picked_up", text="已揽收"))
    assert response.status_code == 202 and response.json()["code"] == "unknown_parcel"
    contract = factories.active_contract(carrier_code="jt")
    from interception import services

    parcel = services.parcel_create(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        tracking_number="jt7777",
        order_number="O-1",
        goods=[{"name": "杯子", "value": "30"}],
    )
    parcel.refresh_from_db()
    assert parcel.last_status == "picked_up"
    assert CarrierEvent.objects.get(event_id="early-1").outcome == "applied"


def test_out_of_order_success_before_the_tracking_event(client, jt):
    order = factories.started()
    now = timezone.now()
    success = post(client, event("r-1", "interception_result", order.tracking_number, at=now, result="succeeded"))
    assert success.status_code == 200
    late_tracking = post(
        client,
        event(
            "t-9",
            "tracking",
            order.tracking_number,
            at=now - timedelta(hours=2),
            status="out_for_delivery",
            text="派送中",
        ),
    )
    assert late_tracking.status_code == 200
    order.refresh_from_db()
    order.after_sale.refresh_from_db()
    assert order.state == "succeeded" and order.after_sale.state == AfterSale.State.REFUNDED
    parcel = Parcel.objects.get(pk=order.parcel_id)
    assert parcel.last_status == "in_transit"  # the older event is recorded but does not become current
    assert parcel.tracking_events.filter(status="out_for_delivery").exists()


def test_r8_the_newest_tracking_event_is_the_current_status_whatever_order_they_arrive_in(client, jt):
    parcel = factories.parcel_for(factories.active_contract(carrier_code="jt"), status=None)
    assert parcel.last_event_at is None
    now = timezone.now().replace(microsecond=0)
    arrivals = [
        ("picked_up", now - timedelta(hours=9)),
        ("out_for_delivery", now - timedelta(hours=1)),
        ("in_transit", now - timedelta(hours=5)),
        ("awaiting_pickup", now - timedelta(hours=1)),
    ]
    currents = []
    for i, (status, at) in enumerate(arrivals):
        assert (
            post(
                client, event(f"tr-{i}", "tracking", parcel.tracking_number.lower(), at=at, status=status, text=status)
            ).status_code
            == 200
        )
        parcel.refresh_from_db()
        currents.append((parcel.last_status, parcel.last_event_at))
    # An older event never undoes a newer one; one at the same moment is the carrier's later word.
    assert currents == [
        ("picked_up", arrivals[0][1]),
        ("out_for_delivery", arrivals[1][1]),
        ("out_for_delivery", arrivals[1][1]),
        ("awaiting_pickup", arrivals[3][1]),
    ]
    assert [(e.status, e.at) for e in parcel.tracking_events.order_by("at", "id")] == [
        arrivals[0],
        arrivals[2],
        arrivals[1],
        arrivals[3],
    ]


def test_each_callback_is_kept_with_what_the_carrier_sent_and_what_it_did(client, jt):
    parcel = factories.interceptable().parcel
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=3)
    post(client, event("keep-1", "tracking", parcel.tracking_number, at=at, status="in_transit", text="到达转运中心"))
    post(client, event("keep-2", "tracking", "JT-NOT-YET", at=at, status="picked_up"))
    kept = {e.event_id: e for e in CarrierEvent.objects.filter(carrier=jt)}
    assert kept["keep-1"].outcome == "applied" and kept["keep-2"].outcome == "unknown_parcel"
    assert kept["keep-1"].payload["text"] == "到达转运中心" and kept["keep-1"].payload["status"] == "in_transit"
    assert kept["keep-1"].occurred_at == at and kept["keep-1"].tracking_number == parcel.tracking_number
    assert timezone.now() - kept["keep-2"].received_at < timedelta(minutes=1)


def test_return_result_before_the_interception_result_is_held_then_applied(client, jt):
    order = factories.started()
    now = timezone.now()
    held = post(client, event("ret-1", "return_result", order.tracking_number, at=now, result="returned"))
    assert held.status_code == 202 and held.json()["code"] == "out_of_order"
    post(
        client,
        event("res-1", "interception_result", order.tracking_number, at=now - timedelta(hours=5), result="succeeded"),
    )
    order.refresh_from_db()
    assert order.state == "returned"
    assert CarrierEvent.objects.get(event_id="ret-1").outcome == "applied"


def test_a_second_result_for_a_decided_interception_has_no_effect(client, jt):
    order = factories.started()
    post(client, event("a", "interception_result", order.tracking_number, result="failed", reason_code="signed"))
    response = post(client, event("b", "interception_result", order.tracking_number, result="succeeded"))
    assert response.status_code == 200 and response.json()["code"] == "no_effect"
    order.refresh_from_db()
    assert order.state == "failed"


@pytest.mark.parametrize(
    "body, field",
    [
        (b"not json", None),
        (
            json.dumps(
                {
                    "event_id": "x",
                    "type": "teleport",
                    "tracking_number": "T",
                    "occurred_at": "2026-11-01T10:00:00+08:00",
                }
            ).encode(),
            "type",
        ),
        (
            json.dumps(
                {"event_id": "x", "type": "tracking", "tracking_number": "T", "occurred_at": "2026-11-01T10:00:00"}
            ).encode(),
            "occurred_at",
        ),
        (
            json.dumps(
                {
                    "event_id": "x",
                    "type": "interception_result",
                    "tracking_number": "T",
                    "occurred_at": "2026-11-01T10:00:00+08:00",
                    "result": "maybe",
                }
            ).encode(),
            "result",
        ),
    ],
)
def test_malformed_event_is_400_with_a_code(client, jt, body, field):
    response = post(client, body)
    assert response.status_code == 400 and response.json()["code"] == "invalid_event"
    if field:
        assert response.json()["errors"][0]["field"] == field


def test_unknown_carrier_is_404(client, jt):
    assert post(client, event("x", "tracking", "T", status="in_transit"), carrier="nope").status_code == 404


def test_sandbox_carrier_resolves_through_the_callback_path(settings, jt):
    settings.SANDBOX_SUCCESS_RATE = 1.0
    settings.SANDBOX_DELAY_SECONDS = (60, 60)
    order = factories.started()
    now = order.submitted_at
    assert sandbox_carrier.tick(now + timedelta(seconds=59)) == 0
    assert sandbox_carrier.tick(now + timedelta(seconds=61)) == 1
    order.refresh_from_db()
    order.after_sale.refresh_from_db()
    assert order.state == "succeeded" and order.result_source == "callback"
    assert order.after_sale.state == AfterSale.State.REFUNDED
    assert sandbox_carrier.tick(now + timedelta(seconds=122)) == 1
    assert sandbox_carrier.tick(now + timedelta(seconds=183)) == 1
    order.refresh_from_db()
    assert order.state in ("returned", "return_failed")
    assert CarrierEvent.objects.filter(carrier=jt, outcome="applied").count() == 3


def test_sandbox_failures_carry_a_blocking_state_as_reason(settings, jt):
    settings.SANDBOX_SUCCESS_RATE = 0.0
    settings.SANDBOX_DELAY_SECONDS = (0, 0)
    order = factories.started()
    sandbox_carrier.tick(order.submitted_at + timedelta(seconds=1))
    order.refresh_from_db()
    assert order.state == "failed"
    assert order.failure_code in {code for code, _text in sandbox.FAILURES} and order.failure_text


def test_r13_silent_carrier_is_asked_and_its_answer_applied_like_a_callback(settings, jt):
    settings.SANDBOX_SUCCESS_RATE = 1.0
    settings.SANDBOX_DELAY_SECONDS = (0, 0)
    settings.CARRIER_POLL_HOURS = 4
    order = factories.started()
    early = services.deadlines_process(now=order.submitted_at + timedelta(hours=3))
    assert early.polled == 0
    report = services.deadlines_process(now=order.submitted_at + timedelta(hours=4, minutes=1))
    assert (report.polled, report.answered) == (1, 1)
    order.refresh_from_db()
    assert order.state == "succeeded" and order.result_source == "poll"
    assert AfterSale.objects.get(pk=order.after_sale_id).state == AfterSale.State.REFUNDED
    # The carrier's callback for the same result, arriving late, is a duplicate and changes nothing.
    body = sandbox._body(
        f"{order.carrier_ref}-result", "interception_result", order, order.result_at, result="succeeded"
    )
    receipt = services.carrier_event_receive(
        carrier_code="jt", body=body, signature=carriers.sign(SECRET, body, time.time())
    )
    assert receipt.body["duplicate"] is True


def test_r13_a_carrier_without_an_answer_is_asked_again_only_after_the_poll_interval(settings, jt):
    settings.SANDBOX_DELAY_SECONDS = (86400 * 30, 86400 * 30)
    settings.CARRIER_POLL_HOURS = 4
    order = factories.started()
    first = order.submitted_at + timedelta(hours=5)
    assert services.deadlines_process(now=first).polled == 1
    assert services.deadlines_process(now=first + timedelta(hours=1)).polled == 0
    assert services.deadlines_process(now=first + timedelta(hours=4, minutes=1)).polled == 1
    order.refresh_from_db()
    assert order.state == "intercepting" and order.last_polled_at == first + timedelta(hours=4, minutes=1)


def test_r13_an_unreachable_carrier_is_noted_on_the_timeline_and_the_order_waits(settings, jt):
    settings.CARRIER_POLL_HOURS = 4
    order = factories.started()
    jt.adapter = "no-such-adapter"
    jt.save()
    report = services.deadlines_process(now=order.submitted_at + timedelta(hours=5))
    assert (report.polled, report.answered) == (1, 0)
    order.refresh_from_db()
    assert order.state == "intercepting"
    assert "poll_failed" in [e.transition for e in timeline.entries_for(order)]


def _intercepting_parcel_numbered(tracking_number):
    contract = factories.active_contract(carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    parcel = services.parcel_create(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        tracking_number=tracking_number,
        order_number="O-LONG",
        goods=[{"name": "围巾", "value": "30.00"}],
    )
    factories.track(parcel, "in_transit")
    return factories.started(factories.after_sale_for(parcel))


def test_a_tracking_number_longer_than_its_column_is_refused_not_cut_to_another_parcels(client, jt):
    """A result for a number that does not exist must never decide the parcel whose number is its prefix."""
    order = _intercepting_parcel_numbered("JT" + "7" * 38)
    response = post(client, event("long-1", "interception_result", order.tracking_number + "123", result="succeeded"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_event"
    assert response.json()["errors"][0] == {
        "code": "too_long",
        "field": "tracking_number",
        "message": response.json()["errors"][0]["message"],
    }
    order.refresh_from_db()
    assert order.state == "intercepting"
    assert AfterSale.objects.get(pk=order.after_sale_id).state == AfterSale.State.INTERCEPTING
    assert not CarrierEvent.objects.exists()


def test_event_ids_longer_than_100_characters_are_refused_not_cut_into_a_false_duplicate(client, jt):
    parcel = factories.interceptable().parcel
    common = "E" * 100
    assert post(client, event(common, "tracking", parcel.tracking_number, status="in_transit")).status_code == 200
    response = post(client, event(common + "-second", "tracking", parcel.tracking_number, status="in_transit"))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "event_id"
    assert list(CarrierEvent.objects.values_list("event_id", flat=True)) == [common]


@pytest.mark.parametrize(
    "field, value",
    [
        ("event_id", "E\u0000X"),
        ("tracking_number", "JT\u00001"),
        ("text", "到达\u0000杭州"),
        ("text", "\ud800"),
        ("reason_text", "\udfff签收"),
    ],
)
def test_nul_and_lone_surrogates_in_a_callback_are_400_naming_the_field(client, jt, field, value):
    payload = event("nul-1", "tracking", "JT1", status="in_transit", text="ok")
    payload[field] = value
    body = json.dumps(payload).encode()  # \u escapes: the JSON text itself is valid
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_event" and response.json()["errors"][0]["field"] == field
    assert not CarrierEvent.objects.exists()


def test_a_callback_nested_5000_levels_deep_is_400_not_500(client, jt):
    body = b'{"event_id": "deep", "text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = post(client, body)
    assert response.status_code == 400 and response.json()["code"] == "invalid_event"
    assert response.json()["errors"][0]["code"] == "too_deep"


@pytest.mark.parametrize(
    "occurred_at", ["2026-11-01T00:00:00-18:55", "2026-11-01T00:00:00+16:00", "2026-02-30T10:00:00+08:00"]
)
def test_callback_times_postgresql_or_the_calendar_cannot_hold_are_400(client, jt, occurred_at):
    payload = event("t-1", "tracking", "JT1", status="in_transit")
    payload["occurred_at"] = occurred_at
    response = post(client, payload)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "occurred_at"


def test_r8_an_event_dated_a_year_ahead_is_refused_and_the_real_signed_event_stays_current(client, jt, settings):
    settings.CARRIER_CLOCK_SKEW_MINUTES = 10
    order = factories.started()
    ahead = post(
        client,
        event(
            "future-1", "tracking", order.tracking_number, at=timezone.now() + timedelta(days=365), status="in_transit"
        ),
    )
    assert ahead.status_code == 400 and ahead.json()["code"] == "occurred_in_future"
    assert ahead.json()["errors"][0]["field"] == "occurred_at"
    within_skew = post(
        client,
        event("skew-1", "tracking", order.tracking_number, at=timezone.now() + timedelta(minutes=9), status="signed"),
    )
    assert within_skew.status_code == 200
    parcel = Parcel.objects.get(pk=order.parcel_id)
    assert parcel.last_status == "signed"
    assert parcel.logistics_status() == "signed"
    assert not CarrierEvent.objects.filter(event_id="future-1").exists()


def test_a_result_dated_before_the_request_keeps_the_carriers_time_but_follows_the_request_on_the_timeline(client, jt):
    order = factories.started()
    carriers_clock = order.requested_at - timedelta(minutes=7)
    response = post(
        client, event("behind-1", "interception_result", order.tracking_number, at=carriers_clock, result="succeeded")
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.result_at == carriers_clock  # as the carrier reported it
    entries = list(timeline.entries_for(order))
    assert [e.transition for e in entries] == ["request", "submit", "succeed"]
    assert entries[-1].at >= entries[0].at
