"""Domain actions on parcels, after-sales and interception orders (R7-R18).

The admin (page, buttons, bulk), the API, the carrier callbacks, the sandbox
carrier and the deadline runner all call these; none of them checks a rule itself.
Locks are always taken after-sale first, then the interception order, so two
actions on one after-sale never wait on each other in opposite orders.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception import carriers, rules, selectors, signals
from interception.models import (
    AfterSale,
    Carrier,
    CarrierEvent,
    CarrierResult,
    EwaybillAccount,
    GoodsLine,
    InterceptionAgreement,
    InterceptionOrder,
    LogisticsStatus,
    Parcel,
    PlatformCarrier,
    TrackingEvent,
)
from kernel import inputs, sql, timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.permissions import actor_may
from kernel.transitions import lock, not_found, require, take

REFUNDED_ON_SUCCESS = _("interception succeeded: refunded automatically (R14)")
REFUNDED_WINDOW_ENDED = _("handling window ended without a decision: refunded automatically (R15)")
SUBMIT_RETRY = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]


# --- parcels and after-sales -----------------------------------------------------------------------------------------

@transaction.atomic
def parcel_create(*, actor, merchant, outlet, tracking_number, order_number, parcels_in_order=1, goods=()):
    """Register a shipped parcel with its goods; carrier events that arrived before it are applied now."""
    require(actor, "interception.add_parcel")
    selectors.require_own_merchant(actor, merchant)
    tracking_number = (tracking_number or "").strip().upper()
    problems = []
    if not tracking_number:
        problems.append(Problem("tracking_number_required", _("The tracking number is required."), "tracking_number"))
    problems += inputs.columns_problems(Parcel, tracking_number=tracking_number, order_number=order_number)
    if not goods:
        problems.append(Problem("goods_required", _("A parcel needs at least one goods line."), "goods"))
    for index, line in enumerate(goods):
        problems.extend(Problem(p.code, _("Goods line %(n)s: %(m)s") % {"n": index + 1, "m": p.message},
                                f"goods[{index}].value") for p in rules.fee_problems(line.get("value"), "value"))
        problems.extend(Problem(p.code, p.message, f"goods[{index}].{p.field}") for p in inputs.columns_problems(
            GoodsLine, name=line.get("name"), specification=line.get("specification") or ""))
    if problems:
        refuse(problems, status=400)
    if Parcel.objects.filter(carrier=outlet.carrier_id, tracking_number=tracking_number).exists():
        raise DomainError("parcel_exists", _("Parcel %(t)s of %(c)s exists already.")
                          % {"t": tracking_number, "c": outlet.carrier}, status=409)
    parcel = Parcel.objects.create(carrier_id=outlet.carrier_id, outlet=outlet, merchant=merchant,
                                   platform_id=merchant.platform_id, tracking_number=tracking_number,
                                   order_number=order_number, parcels_in_order=parcels_in_order or 1)
    GoodsLine.objects.bulk_create([
        GoodsLine(parcel=parcel, name=line["name"], category=line.get("category") or "general",
                  quantity=line.get("quantity") or 1, specification=line.get("specification") or "",
                  value=Decimal(str(line["value"])).quantize(Decimal("0.01"))) for line in goods])
    _replay_waiting(parcel.carrier_id, tracking_number)
    return parcel


@transaction.atomic
def aftersale_create(*, actor, parcel, number, kind, amount, reason=""):
    """Record a buyer's after-sale; with the merchant's auto-intercept rule on, intercept at once (R12)."""
    require(actor, "interception.add_aftersale")
    selectors.require_own_merchant(actor, parcel.merchant)
    problems = rules.fee_problems(amount, "amount") + inputs.columns_problems(AfterSale, number=number,
                                                                             reason=reason or "")
    if kind not in AfterSale.Kind.values:
        problems.append(Problem("kind_invalid", _("Unknown after-sale type %(k)s.") % {"k": kind}, "kind"))
    if problems:
        refuse(problems, status=400)
    if AfterSale.objects.filter(platform=parcel.platform_id, number=number).exists():
        raise DomainError("after_sale_exists", _("After-sale %(n)s exists already.") % {"n": number}, status=409)
    after_sale = AfterSale.objects.create(number=number, merchant_id=parcel.merchant_id, platform_id=parcel.platform_id,
                                          parcel=parcel, kind=kind, amount=Decimal(str(amount)).quantize(Decimal("0.01")),
                                          reason=reason)
    timeline.record(after_sale, actor=actor, transition="create_aftersale", to_state=after_sale.state,
                    at=after_sale.created_at)
    order = None
    if parcel.merchant.auto_intercept and kind == AfterSale.Kind.REFUND_ONLY:
        try:
            with transaction.atomic():
                order = interception_start(after_sale_id=after_sale.pk, actor=None, via=InterceptionOrder.Via.AUTO)
            after_sale.refresh_from_db()
        except DomainError as exc:
            timeline.record(after_sale, actor=None, transition="auto_intercept_refused",
                            reason=", ".join(e["code"] for e in exc.errors) or exc.code)
            after_sale.auto_intercept_problems = exc.errors
    return after_sale, order


@transaction.atomic
def aftersale_close(*, after_sale_id, actor, reason=""):
    """The buyer withdrew the request before any interception."""
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    take(after_sale, "close", actor=actor, event="close_aftersale", reason=reason)
    return after_sale


# --- eligibility and start -------------------------------------------------------------------------------------------

@dataclass
class Preview:
    """What the interception page shows: the facts, the fee that will be charged, every problem."""

    after_sale: AfterSale
    parcel: Parcel
    logistics_status: str
    contract: object
    problems: list

    @property
    def eligible(self):
        return not self.problems

    @property
    def fee(self):
        return self.contract.fee if self.contract else None

    @property
    def settlement_mode(self):
        return self.contract.get_settlement_mode_display() if self.contract else None


def interception_preview(after_sale, *, now=None):
    """Check eligibility (R5, R7-R11) without changing anything."""
    parcel, merchant, platform = after_sale.parcel, after_sale.merchant, after_sale.platform
    now = now or timezone.now()
    status = parcel.logistics_status(now)
    contract = selectors.active_contract_for(merchant_id=merchant.pk, outlet_id=parcel.outlet_id,
                                             platform_id=platform.pk)
    problems = rules.interception_problems(
        after_sale=after_sale, parcel=parcel, logistics_status=status, merchant=merchant, platform=platform,
        terms=PlatformCarrier.objects.filter(platform=platform, carrier=parcel.carrier_id).first(),
        contract=contract,
        has_ewaybill=EwaybillAccount.objects.filter(merchant=merchant, outlet=parcel.outlet_id, platform=platform,
                                                    active=True).exists(),
        agreement_signed=InterceptionAgreement.objects.filter(merchant=merchant, platform=platform).exists(),
        goods_categories=set(parcel.goods.values_list("category", flat=True)),
        live_interception=parcel.interceptions.filter(state__in=InterceptionOrder.LIVE_STATES).first())
    return Preview(after_sale, parcel, status, contract, problems)


@transaction.atomic
def interception_start(*, after_sale_id, actor, via=InterceptionOrder.Via.MANUAL):
    """Start intercepting the after-sale's parcel (R12): every way in runs exactly these checks.

    Refused with every failed check (code `not_eligible`, status 422). The carrier is asked after commit.
    """
    require(actor, "interception.start_interception")
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    # Serialise starts on one parcel (two after-sales can name it); the partial unique index is the last word.
    after_sale.parcel = Parcel.objects.select_for_update(of=("self",)).select_related("carrier", "outlet").get(
        pk=after_sale.parcel_id)
    preview = interception_preview(after_sale)
    if preview.problems:
        refuse(preview.problems, code="not_eligible", message=_("This parcel cannot be intercepted: %(r)s")
               % {"r": "; ".join(str(p.message) for p in preview.problems)}, status=422)
    contract, parcel, now = preview.contract, preview.parcel, timezone.now()
    try:
        with transaction.atomic():
            order = InterceptionOrder.objects.create(
                parcel=parcel, after_sale=after_sale, tracking_number=parcel.tracking_number,
                merchant_id=after_sale.merchant_id, outlet_id=parcel.outlet_id, carrier_id=parcel.carrier_id,
                platform_id=after_sale.platform_id, contract=contract, settlement_mode=contract.settlement_mode,
                fee=contract.fee, charge_on_success=contract.charge_succeeded,
                charge_on_failure=contract.charge_failed, via=via, requested_by=actor, requested_at=now,
                next_submit_at=now + SUBMIT_RETRY[0])
    except IntegrityError:
        raise DomainError("interception_exists", _("This parcel is being intercepted already (R11)."),
                          errors=[{"code": "interception_exists", "message": _("This parcel is being intercepted "
                                                                               "already (R11).")}],
                          status=422) from None
    timeline.record(order, actor=actor, transition="request", to_state=order.state, at=now,
                    reason=order.get_via_display())
    take(after_sale, "start_interception", actor=actor, at=now,
         window_ends_at=rules.handling_window_end(after_sale.platform, now))
    transaction.on_commit(lambda: interception_submit(order_id=order.pk))
    return order


def interception_submit(*, order_id, now=None):
    """Hand a requested interception to its carrier; a carrier that fails is asked again later (backoff)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Only the order's row: a lock on the shared carrier row would make concurrent submissions skip each other.
        order = (InterceptionOrder.objects.select_for_update(skip_locked=True, of=("self",)).select_related("carrier")
                 .filter(pk=order_id, state=InterceptionOrder.State.REQUESTED).first())
        if order is None:  # submitted already, resolved, or another worker has it right now
            return None
        try:
            ref = carriers.adapter_for(order.carrier).submit(order)
        except carriers.CarrierUnavailable as exc:
            order.submit_attempts += 1
            order.next_submit_at = now + SUBMIT_RETRY[min(order.submit_attempts, len(SUBMIT_RETRY) - 1)]
            order.last_submit_error = str(exc)
            order.save(update_fields=["submit_attempts", "next_submit_at", "last_submit_error"])
            timeline.record(order, actor=None, transition="submit_failed", reason=str(exc), at=now)
            return order
        order.submit_attempts += 1
        take(order, "submit", actor=None, at=now, carrier_ref=ref)
        return order


# --- results ---------------------------------------------------------------------------------------------------------

RESULT_TRANSITIONS = {
    CarrierResult.SUCCEEDED: "succeed",
    CarrierResult.FAILED: "fail",
    CarrierResult.RETURNING: "start_return",
    CarrierResult.RETURNED: "return_done",
    CarrierResult.LOST: "return_fail",
    CarrierResult.DAMAGED: "return_fail",
}


def result_recordable(order, user):
    """For the admin: may `user` record a result on `order` now? (the machine decides; this only shows the button)"""
    return actor_may(user, "interception.record_result") and any(
        can_proceed(getattr(order, name)) for name in set(RESULT_TRANSITIONS.values()))


@transaction.atomic
def interception_record_result(*, order_id, actor, result, at=None, reason_code="", reason_text="", note="",
                               source=InterceptionOrder.Source.MANUAL, scoped=True):
    """Apply a carrier's result, whoever brings it: callback, query or staff by phone (R13, R14)."""
    require(actor, "interception.record_result")
    if result not in RESULT_TRANSITIONS:
        raise DomainError("result_invalid", _("Unknown result %(r)s.") % {"r": result}, status=400)
    if result == CarrierResult.FAILED and not (reason_code or reason_text):
        raise DomainError("reason_required", _("A failed interception needs the carrier's reason."), status=400)
    column = InterceptionOrder._meta.get_field
    if problems := (inputs.text_problems(reason_code, "reason_code", column=column("failure_code"))
                    + inputs.text_problems(reason_text, "reason_text", column=column("failure_text"))
                    + inputs.text_problems(note, "note")):
        refuse(problems, status=400)
    if source == InterceptionOrder.Source.MANUAL and not (note or "").strip():
        raise DomainError("note_required", _("Say how the result was confirmed (e.g. phone call with whom)."),
                          status=400)
    orders = selectors.interception_list(actor if scoped else None)
    after_sale_id = orders.filter(pk=order_id).values_list("after_sale_id", flat=True).first()
    if after_sale_id is None:
        raise not_found(_("Interception"), order_id)
    after_sale = AfterSale.objects.select_for_update(of=("self",)).select_related("platform").get(pk=after_sale_id)
    order = lock(orders, order_id, what=_("Interception"))
    # The result keeps the carrier's time as reported (result_at and the carrier event); the timeline says when
    # we learned it, so a carrier clock that runs behind ours never puts a result before its request.
    recorded_at = timezone.now()
    at = at or recorded_at
    kwargs = {"source": source, "note": note}
    if result == CarrierResult.FAILED:
        kwargs.update(reason_code=reason_code or "unspecified", reason_text=reason_text or reason_code)
    if result in (CarrierResult.LOST, CarrierResult.DAMAGED):
        kwargs["loss"] = result
    reason = note or (f"{reason_code} {reason_text}".strip() if result == CarrierResult.FAILED else "")
    take(order, RESULT_TRANSITIONS[result], actor=actor, at=at, recorded_at=recorded_at, reason=reason, **kwargs)
    signals.result_recorded.send(InterceptionOrder, order=order, result=result)
    if result == CarrierResult.SUCCEEDED and can_proceed(after_sale.refund):
        take(after_sale, "refund", actor=None, reason=REFUNDED_ON_SUCCESS)
    return order


# --- the after-sale outcome ------------------------------------------------------------------------------------------

def _refuse_problems(after_sale, now):
    """R16 holds while intercepting; under platform intervention the platform has ruled."""
    if not after_sale.intercepting:
        return []
    return rules.refuse_problems(platform=after_sale.platform, started_at=after_sale.intercepting_since,
                                 interception=after_sale.interceptions.order_by("-id").first(), now=now)


@transaction.atomic
def aftersale_agree_refund(*, after_sale_id, actor, reason=""):
    """Agree to refund: allowed while intercepting (the interception continues, R17) or after it failed."""
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    take(after_sale, "refund", actor=actor, reason=reason)
    return after_sale


@transaction.atomic
def aftersale_refuse(*, after_sale_id, actor, reason, now=None):
    """Refuse the refund: only after a failed interception or N days without a result (R16)."""
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    if problems := _refuse_problems(after_sale, now or timezone.now()):
        refuse(problems)
    take(after_sale, "refuse", actor=actor, reason=reason, reason_for=_("refuse a refund"))
    return after_sale


@transaction.atomic
def aftersale_ask_platform(*, after_sale_id, actor, reason):
    """Ask the platform to intervene (R17); the interception, if any, continues."""
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    take(after_sale, "ask_platform", actor=actor, reason=reason, reason_for=_("ask the platform to intervene"))
    return after_sale


def refuse_allowed(after_sale, now=None):
    """For the admin: would R16 allow refusing now? (the service decides; this only hides the button)."""
    return not _refuse_problems(after_sale, now or timezone.now())


# --- carrier callbacks -----------------------------------------------------------------------------------------------

@dataclass
class Receipt:
    status: int
    body: dict


def carrier_event_receive(*, carrier_code, body, signature, now=None):
    """Verify, apply and store one carrier callback (signed, idempotent on the carrier's event id).

    The event row is inserted last, in the transaction that applied it: a copy racing the original
    waits on the unique index, then fails and takes its effects with it; the answer is "duplicate".
    """
    now = now or timezone.now()
    carrier = sql.get(Carrier, ["id", "code", "adapter", "callback_secret"], code=carrier_code)
    if carrier is None:
        raise DomainError("unknown_carrier", _("Unknown carrier %(c)s.") % {"c": carrier_code}, status=404)
    carriers.verify(carrier.callback_secret, signature, body, now)
    message = carriers.adapter_for(carrier).parse_callback(body)
    return _receive(carrier, message, now, source=InterceptionOrder.Source.CALLBACK)


def _receive(carrier, message, now, *, source):
    """Apply and store one carrier message once; a second copy of its event id is answered "duplicate".

    An event dated ahead of our clock (beyond CARRIER_CLOCK_SKEW_MINUTES) is refused: kept as the newest, it
    would make every real event older than it, a signed parcel would look in transit (R8).
    """
    if problems := inputs.future_problems(message.occurred_at, "occurred_at", now=now,
                                          tolerance=timedelta(minutes=settings.CARRIER_CLOCK_SKEW_MINUTES)):
        refuse(problems, status=400)
    tracking_number = message.tracking_number
    try:
        with transaction.atomic():
            outcome, detail, moved = _apply(carrier.pk, tracking_number, message, source=source)
            sql.insert(
                CarrierEvent, carrier=carrier.pk, event_id=message.event_id, kind=message.kind,
                tracking_number=tracking_number, occurred_at=message.occurred_at, payload=_payload(message),
                received_at=now, outcome=outcome, detail=str(detail))
            if moved:
                _replay_waiting(carrier.pk, tracking_number)
    except IntegrityError:
        if not CarrierEvent.objects.filter(carrier=carrier, event_id=message.event_id).exists():
            raise
        return Receipt(200, {"duplicate": True, "event_id": message.event_id})
    status, code = {
        CarrierEvent.Outcome.APPLIED: (200, "applied"),
        CarrierEvent.Outcome.UNKNOWN_PARCEL: (202, "unknown_parcel"),
        CarrierEvent.Outcome.HELD: (202, "out_of_order"),
        CarrierEvent.Outcome.IGNORED: (200, "no_effect"),
    }[outcome]
    return Receipt(status, {"code": code, "detail": str(detail or CarrierEvent.Outcome(outcome).label),
                            "event_id": message.event_id, "duplicate": False})


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
    parcel = sql.get(Parcel, ["id"], carrier=carrier_id, tracking_number=tracking_number)
    if parcel is None:
        return (CarrierEvent.Outcome.UNKNOWN_PARCEL,
                _("No parcel %(t)s yet; applied when it arrives.") % {"t": tracking_number}, False)
    if message.kind == CarrierEvent.Kind.TRACKING:
        return CarrierEvent.Outcome.APPLIED, "", _apply_tracking(parcel.pk, message)
    order = InterceptionOrder.objects.filter(parcel=parcel.pk).order_by("-id").first()
    if order is None or not can_proceed(getattr(order, RESULT_TRANSITIONS[message.result])):
        # A return's result before the interception's own (or before any interception) waits for it.
        if order is None or can_proceed(order.succeed):
            return CarrierEvent.Outcome.HELD, _("No interception is waiting for this result yet; held."), False
        return (CarrierEvent.Outcome.IGNORED, _("Interception #%(n)s is %(s)s already.")
                % {"n": order.pk, "s": order.get_state_display()}, False)
    try:
        with transaction.atomic():
            interception_record_result(order_id=order.pk, actor=None, result=message.result, at=message.occurred_at,
                                       reason_code=message.reason_code, reason_text=message.reason_text,
                                       note=message.text, source=source, scoped=False)
    except DomainError as exc:
        return CarrierEvent.Outcome.IGNORED, exc.message, False
    return CarrierEvent.Outcome.APPLIED, "", True


def _apply_tracking(parcel_id, message):
    """Record a tracking event; True when it started an interception's return leg."""
    sql.insert(TrackingEvent, parcel=parcel_id, status=message.status, raw_text=message.text,
                      at=message.occurred_at, received_at=timezone.now())
    # Events can arrive out of order: only a newer one changes the parcel's current status.
    sql.update_unless_newer(Parcel, parcel_id, "last_event_at", last_status=message.status,
                                   last_event_at=message.occurred_at)
    if message.status not in (LogisticsStatus.RETURNING, LogisticsStatus.RETURNED):
        return False
    order = InterceptionOrder.objects.filter(parcel=parcel_id, state=InterceptionOrder.State.SUCCEEDED).first()
    if order is None:
        return False
    try:
        with transaction.atomic():
            interception_record_result(order_id=order.pk, actor=None, result=CarrierResult.RETURNING,
                                       at=message.occurred_at,
                                       note=message.text, source=InterceptionOrder.Source.CALLBACK, scoped=False)
    except DomainError:
        return False  # the order moved on meanwhile; the tracking event itself is recorded
    return True


def _replay_waiting(carrier_id, tracking_number):
    """Apply the events that waited for this parcel or for its interception to catch up, oldest first."""
    for _round in range(3):  # a replayed result can unblock the next held one (result, then return)
        waiting = list(CarrierEvent.objects.select_for_update(skip_locked=True)
                       .filter(carrier=carrier_id, tracking_number=tracking_number,
                               outcome__in=[CarrierEvent.Outcome.UNKNOWN_PARCEL, CarrierEvent.Outcome.HELD])
                       .order_by("occurred_at", "id"))
        applied = 0
        for event in waiting:
            outcome, detail, _moved = _apply(carrier_id, tracking_number, _message(event))
            if outcome != event.outcome or detail:
                event.outcome, event.detail = outcome, str(detail)
                event.save(update_fields=["outcome", "detail"])
            applied += outcome == CarrierEvent.Outcome.APPLIED
        if not applied:
            return


# --- deadlines -------------------------------------------------------------------------------------------------------

@dataclass
class DeadlineReport:
    refunded: int = 0
    submitted: int = 0
    polled: int = 0
    answered: int = 0


def deadlines_process(*, now=None, batch=200):
    """One pass over everything that is due; safe to run in several processes at once (SKIP LOCKED)."""
    now = now or timezone.now()
    report = DeadlineReport()
    while True:
        with transaction.atomic():
            due = list(AfterSale.objects.select_for_update(skip_locked=True)
                       .filter(state=AfterSale.State.INTERCEPTING, window_ends_at__lte=now)
                       .order_by("window_ends_at")[:batch])
            for after_sale in due:
                take(after_sale, "refund", actor=None, reason=REFUNDED_WINDOW_ENDED, at=now)
            report.refunded += len(due)
        if len(due) < batch:
            break
    retry = list(InterceptionOrder.objects.filter(state=InterceptionOrder.State.REQUESTED, next_submit_at__lte=now)
                 .order_by("next_submit_at").values_list("pk", flat=True)[:batch * 5])
    for order_id in retry:
        if interception_submit(order_id=order_id, now=now) is not None:
            report.submitted += 1
    for order_id in _poll_claims(now, batch):
        report.polled += 1
        report.answered += interception_poll(order_id=order_id, now=now) is not None
    return report


def _poll_claims(now, batch):
    """Claim the in-flight interceptions whose carrier has been silent for CARRIER_POLL_HOURS.

    Each claim is one conditional UPDATE, so two runners never ask about the same order in one round.
    """
    cutoff = now - timedelta(hours=settings.CARRIER_POLL_HOURS)
    silent = (InterceptionOrder.objects.filter(state=InterceptionOrder.State.INTERCEPTING, submitted_at__lte=cutoff)
              .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=cutoff)))
    for order_id in list(silent.order_by("submitted_at").values_list("pk", flat=True)[:batch * 5]):
        if silent.filter(pk=order_id).update(last_polled_at=now):
            yield order_id


def interception_poll(*, order_id, now=None):
    """Ask the carrier for an interception's result and apply the answer as if it had called back (R13).

    Returns the receipt, or None when the carrier has no answer yet or cannot be reached (asked again later).
    The answer is stored under the carrier's event id, so the same result arriving later by callback is a duplicate.
    """
    now = now or timezone.now()
    order = InterceptionOrder.objects.select_related("carrier").get(pk=order_id)
    try:
        message = carriers.adapter_for(order.carrier).query(order)
        return None if message is None else _receive(order.carrier, message, now, source=InterceptionOrder.Source.POLL)
    except (carriers.CarrierUnavailable, DomainError) as exc:  # unreachable, or an answer we refuse
        timeline.record(order, actor=None, transition="poll_failed", reason=str(getattr(exc, "message", exc)), at=now)
        return None
