"""Carrier callbacks: verified, applied once per event id, held until they can be applied (R13)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception import carriers
from interception.models import (
    Carrier,
    CarrierEvent,
    CarrierResult,
    InterceptionOrder,
    LogisticsStatus,
    Parcel,
    TrackingEvent,
)
from interception.services.results import RESULT_TRANSITIONS, interception_record_result
from kernel import inputs, sql
from kernel.errors import DomainError, refuse


@dataclass
class Receipt:
    status: int
    body: dict


# Each outcome's HTTP status and code in the receipt.
RECEIPTS = {
    CarrierEvent.Outcome.APPLIED: (200, "applied"),
    CarrierEvent.Outcome.UNKNOWN_PARCEL: (202, "unknown_parcel"),
    CarrierEvent.Outcome.HELD: (202, "out_of_order"),
    CarrierEvent.Outcome.IGNORED: (200, "no_effect"),
}


def _carrier(carrier_code):
    carrier = sql.get(Carrier, ["id", "code", "adapter", "sealed_credentials"], code=carrier_code)
    if carrier is None:
        raise DomainError("unknown_carrier", _("Unknown carrier %(c)s.") % {"c": carrier_code}, status=404)
    return carrier


def carrier_callback(*, carrier_code, incoming, now=None):
    """One request from a carrier's service: verified and read by its adapter, each of its messages applied
    once (idempotent on the carrier's event id), answered in the service's own format (carriers.Answer)."""
    now = now or timezone.now()
    carrier = _carrier(carrier_code)
    try:
        adapter = carriers.adapter_for(carrier)
    except carriers.CarrierRefused as exc:  # a carrier configured with an adapter that is gone
        raise DomainError("unknown_carrier", str(exc), status=404) from None
    try:
        read = adapter.read_callback(carrier, incoming, now)
        messages = [m for m in read if isinstance(m, carriers.CarrierMessage)]
        # A service that pushes a parcel's whole trail every time (kuaidi100) repeats most events: known ones are
        # answered as duplicates without applying them first (a copy racing in still meets the unique index).
        known = set(
            CarrierEvent.objects.filter(carrier=carrier.pk, event_id__in=[m.event_id for m in messages]).values_list(
                "event_id", flat=True
            )
            if len(messages) > 1
            else ()
        )
        receipts = [
            Receipt(200, {"duplicate": True, "event_id": m.event_id})
            if m.event_id in known
            else receive_message(carrier, m, now, source=InterceptionOrder.Source.CALLBACK)
            for m in messages
        ]
    except DomainError as exc:
        return adapter.refusal(exc)
    for notice in read:
        if isinstance(notice, carriers.TrackingNotice):
            tracking_notice_apply(carrier_id=carrier.pk, notice=notice, now=now)
    return adapter.answer(receipts)


def tracking_notice_apply(*, carrier_id, notice, now):
    """What the tracking service said of a parcel's subscription: ended, to subscribe again later, or its whole
    trail pushed again (events it no longer lists are dropped, the newest remaining one is current). A parcel we
    do not have yet has nothing to change: its events wait for it, and it is subscribed when it arrives."""
    with transaction.atomic():
        parcel = (
            Parcel.objects.select_for_update()
            .filter(carrier=carrier_id, tracking_number=notice.tracking_number)
            .first()
        )
        if parcel is None:
            return
        if notice.subscription:
            parcel.subscription = notice.subscription
            parcel.resubscribe_at = now + notice.resubscribe_after if notice.resubscribe_after else None
            parcel.save(update_fields=["subscription", "resubscribe_at"])
        if notice.trail:  # an empty re-push would wipe the trail; kuaidi100 never sends one on purpose
            keep = set(notice.trail)
            events = TrackingEvent.objects.filter(parcel=parcel)
            stale = [pk for pk, at, text in events.values_list("pk", "at", "raw_text") if (at, text) not in keep]
            if stale:
                TrackingEvent.objects.filter(pk__in=stale).delete()
                newest = events.order_by("-at", "-id").first()
                Parcel.objects.filter(pk=parcel.pk).update(
                    last_status=newest.status if newest else LogisticsStatus.NO_TRACKING,
                    last_event_at=newest.at if newest else None,
                )


def carrier_event_receive(*, carrier_code, body, signature, now=None):
    """One event in our own format (the sandbox, tests, benchmarks): its receipt, or the DomainError refusing it.

    The event row is inserted last, in the transaction that applied it: a copy racing the original
    waits on the unique index, then fails and takes its effects with it; the answer is "duplicate".
    """
    now = now or timezone.now()
    carrier = _carrier(carrier_code)
    incoming = carriers.Incoming(body=body, headers={"X-Signature": signature})
    (message,) = carriers.adapter_for(carrier).read_callback(carrier, incoming, now)
    return receive_message(carrier, message, now, source=InterceptionOrder.Source.CALLBACK)


def receive_message(carrier, message, now, *, source):
    """Apply and store one carrier message once; a second copy of its event id is answered "duplicate".

    An event dated ahead of our clock (beyond CARRIER_CLOCK_SKEW_MINUTES) is refused: kept as the newest, it
    would make every real event older than it, a signed parcel would look in transit (R8).
    """
    if problems := inputs.future_problems(
        message.occurred_at, "occurred_at", now=now, tolerance=timedelta(minutes=settings.CARRIER_CLOCK_SKEW_MINUTES)
    ):
        refuse(problems, status=400)
    tracking_number = message.tracking_number
    try:
        with transaction.atomic():
            outcome, detail, moved = _apply(carrier.pk, tracking_number, message, source=source)
            sql.insert(
                CarrierEvent,
                carrier=carrier.pk,
                event_id=message.event_id,
                kind=message.kind,
                tracking_number=tracking_number,
                occurred_at=message.occurred_at,
                payload=_payload(message),
                received_at=now,
                outcome=outcome,
                detail=str(detail),
            )
            if moved:
                replay_waiting(carrier.pk, tracking_number)
    except IntegrityError:
        if not CarrierEvent.objects.filter(carrier=carrier, event_id=message.event_id).exists():
            raise
        return Receipt(200, {"duplicate": True, "event_id": message.event_id})
    status, code = RECEIPTS[outcome]
    return Receipt(
        status,
        {
            "code": code,
            "detail": str(detail or CarrierEvent.Outcome(outcome).label),
            "event_id": message.event_id,
            "duplicate": False,
        },
    )


def _payload(message):
    data = {k: v for k, v in message.__dict__.items() if v}
    data["occurred_at"] = message.occurred_at.isoformat()
    return data


def _message(event):
    data = dict(event.payload)
    data["occurred_at"] = parse_datetime(data["occurred_at"])
    return carriers.CarrierMessage(**data)


def _apply(carrier_id, tracking_number, message, *, source=InterceptionOrder.Source.CALLBACK):
    """Apply a carrier's message: (outcome, detail, whether an interception moved). Never raises for the
    carrier's ordering or for parcels we do not know yet."""
    parcel_id = sql.value(Parcel, "id", carrier=carrier_id, tracking_number=tracking_number)
    if parcel_id is None:
        return (
            CarrierEvent.Outcome.UNKNOWN_PARCEL,
            _("No parcel %(t)s yet; applied when it arrives.") % {"t": tracking_number},
            False,
        )
    if message.kind == CarrierEvent.Kind.TRACKING:
        return CarrierEvent.Outcome.APPLIED, "", _apply_tracking(parcel_id, message)
    order = InterceptionOrder.objects.filter(parcel=parcel_id).order_by("-id").first()
    if order is None or not can_proceed(getattr(order, RESULT_TRANSITIONS[message.result])):
        # A return's result before the interception's own (or before any interception) waits for it.
        if order is None or can_proceed(order.succeed):
            return CarrierEvent.Outcome.HELD, _("No interception is waiting for this result yet; held."), False
        return (
            CarrierEvent.Outcome.IGNORED,
            _("Interception #%(n)s is %(s)s already.") % {"n": order.pk, "s": order.get_state_display()},
            False,
        )
    try:
        with transaction.atomic():
            interception_record_result(
                order_id=order.pk,
                actor=None,
                result=message.result,
                at=message.occurred_at,
                reason_code=message.reason_code,
                reason_text=message.reason_text,
                note=message.text,
                source=source,
                scoped=False,
            )
    except DomainError as exc:
        return CarrierEvent.Outcome.IGNORED, exc.message, False
    return CarrierEvent.Outcome.APPLIED, "", True


def tracking_record(*, parcel_id, status, at, text="", place=""):
    """Keep one tracking event of a parcel; it becomes the parcel's current status only if it is the newest (R8).

    Events arrive out of order: an older one is kept on the trail but never undoes a newer status.
    """
    sql.insert_and_update_unless_newer(
        TrackingEvent,
        {
            "parcel": parcel_id,
            "status": status,
            "raw_text": text,
            "place": place,
            "at": at,
            "received_at": timezone.now(),
        },
        Parcel,
        parcel_id,
        "last_event_at",
        last_status=status,
        last_event_at=at,
    )


def _apply_tracking(parcel_id, message):
    """Record a tracking event; True when it moved an interception's return leg.

    A parcel "returning" starts the leg of a succeeded interception; "returned" (the sender signed for it,
    kuaidi100's 退签) starts it if need be and closes it as returned, for services that send no return result
    of their own.
    """
    tracking_record(
        parcel_id=parcel_id, status=message.status, at=message.occurred_at, text=message.text, place=message.place
    )
    steps = {
        LogisticsStatus.RETURNING: [CarrierResult.RETURNING],
        LogisticsStatus.RETURNED: [CarrierResult.RETURNING, CarrierResult.RETURNED],
    }.get(message.status, [])
    order = (
        InterceptionOrder.objects.filter(parcel=parcel_id, state__in=InterceptionOrder.LIVE_STATES)
        .order_by("-id")
        .first()
        if steps
        else None
    )
    moved = False
    for result in steps:
        if order is None or not can_proceed(getattr(order, RESULT_TRANSITIONS[result])):
            continue  # not intercepted, not yet succeeded, or past this step: the event itself is recorded
        try:
            with transaction.atomic():
                order = interception_record_result(
                    order_id=order.pk,
                    actor=None,
                    result=result,
                    at=message.occurred_at,
                    note=message.text,
                    source=InterceptionOrder.Source.CALLBACK,
                    scoped=False,
                )
        except DomainError:
            return moved  # the order moved on meanwhile
        moved = True
    return moved


def replay_waiting(carrier_id, tracking_number):
    """Apply the events that waited for this parcel or for its interception to catch up, oldest first."""
    for _round in range(3):  # a replayed result can unblock the next held one (result, then return)
        waiting = list(
            CarrierEvent.objects.select_for_update(skip_locked=True)
            .filter(
                carrier=carrier_id,
                tracking_number=tracking_number,
                outcome__in=[CarrierEvent.Outcome.UNKNOWN_PARCEL, CarrierEvent.Outcome.HELD],
            )
            .order_by("occurred_at", "id")
        )
        applied = 0
        for event in waiting:
            outcome, detail, _moved = _apply(carrier_id, tracking_number, _message(event))
            if outcome != event.outcome or detail:
                event.outcome, event.detail = outcome, str(detail)
                event.save(update_fields=["outcome", "detail"])
            applied += outcome == CarrierEvent.Outcome.APPLIED
        if not applied:
            return
