"""Eligibility and the start of an interception (R5, R7-R12), and its hand-over to the carrier."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import carriers, notify, rules, selectors
from interception.carriers.http import ServiceClient
from interception.models import (
    AfterSale,
    Contract,
    EwaybillAccount,
    GoodsLine,
    InterceptionAgreement,
    InterceptionMode,
    InterceptionOrder,
    Parcel,
    PlatformCarrier,
)
from interception.services.contracts import agreement_sign, contract_by_default, contract_open_by_default
from kernel import sql, timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.transitions import check, fire, lock, lock_many, not_found, require, take

SUBMIT_RETRY = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]


@dataclass
class Preview:
    """What the interception page shows: the facts, the fee that will be charged, every problem."""

    after_sale: AfterSale
    parcel: Parcel
    logistics_status: str
    contract: object
    problems: list
    mode: str = InterceptionMode.RETURN_TO_SENDER
    modes: tuple = (InterceptionMode.RETURN_TO_SENDER,)  # what the carrier's service can do
    # No contract yet, and the start opens it as the terms give it (R3): `contract` is that one, unsaved.
    opens_by_default: bool = False

    @property
    def eligible(self):
        return not self.problems

    @property
    def needs_only_the_agreement(self):
        """The one refusal is the unsigned agreement (R5): signing it on the spot makes the parcel eligible
        (Kuaishou asks for the signature at the first interception)."""
        return [p.code for p in self.problems] == ["agreement_not_signed"]

    @property
    def fee(self):
        return self.contract.fee_for(self.mode) if self.contract else None

    @property
    def settlement_mode(self):
        return self.contract.get_settlement_mode_display() if self.contract else None


def carrier_modes(carrier):
    """The modes the carrier's service supports, in the order of the choices (an unknown adapter: the default)."""
    try:
        supported = carriers.adapter_for(carrier).capabilities.modes
    except carriers.CarrierRefused:
        supported = {InterceptionMode.RETURN_TO_SENDER}
    return tuple(m for m in InterceptionMode.values if m in supported)


class Facts:
    """What eligibility reads beyond the after-sale and its parcel, loaded for a whole set of (after-sale, parcel)
    pairs in one query per kind: the page's preview reads it for one pair, a bulk start for thousands."""

    def __init__(self, pairs):
        pairs = list(pairs)
        merchants = {a.merchant_id for a, _p in pairs}
        platforms = {a.platform_id for a, _p in pairs}
        outlets = {p.outlet_id for _a, p in pairs}
        parcels = {p.pk for _a, p in pairs}
        # At most one live (pending or active) contract per merchant × outlet × platform: the key is unique.
        contracts = Contract.objects.filter(merchant__in=merchants, outlet__in=outlets, platform__in=platforms)
        self.contracts = {
            (c.merchant_id, c.outlet_id, c.platform_id): c for c in contracts.filter(state=Contract.State.ACTIVE)
        }
        # Whoever ever had a contract there: only those who never did are opened by default (R3, R4).
        self.had_contract = set(contracts.values_list("merchant", "outlet", "platform").distinct())
        self.terms = {
            (t.platform_id, t.carrier_id): t
            for t in PlatformCarrier.objects.filter(
                platform__in=platforms, carrier__in={p.carrier_id for _a, p in pairs}
            )
        }
        self.ewaybills = set(
            EwaybillAccount.objects.filter(
                merchant__in=merchants, outlet__in=outlets, platform__in=platforms, active=True
            ).values_list("merchant", "outlet", "platform")
        )
        self.agreements = set(
            InterceptionAgreement.objects.filter(merchant__in=merchants, platform__in=platforms).values_list(
                "merchant", "platform"
            )
        )
        self.categories = {}
        for parcel_id, category in GoodsLine.objects.filter(parcel__in=parcels).values_list("parcel", "category"):
            self.categories.setdefault(parcel_id, set()).add(category)
        self.live = {
            o.parcel_id: o
            for o in InterceptionOrder.objects.filter(parcel__in=parcels, state__in=InterceptionOrder.LIVE_STATES)
        }
        self.modes = {}

    def carrier_modes(self, carrier):
        if carrier.pk not in self.modes:
            self.modes[carrier.pk] = carrier_modes(carrier)
        return self.modes[carrier.pk]

    def preview(self, after_sale, parcel, *, mode, new_address, now):
        """Every reason the parcel cannot be intercepted now (R5, R7-R11), its mode's too, and the fee."""
        merchant, platform = after_sale.merchant, after_sale.platform
        status = parcel.logistics_status(now)
        key = (merchant.pk, parcel.outlet_id, platform.pk)
        terms, has_ewaybill = self.terms.get((platform.pk, parcel.carrier_id)), key in self.ewaybills
        contract, opens = self.contracts.get(key), False
        if contract is None and rules.opens_by_default(
            terms=terms, has_ewaybill=has_ewaybill, had_contract=key in self.had_contract
        ):
            contract, opens = (
                contract_by_default(merchant=merchant, outlet=parcel.outlet, platform=platform, terms=terms),
                True,
            )
        problems = rules.interception_problems(
            after_sale=after_sale,
            parcel=parcel,
            logistics_status=status,
            merchant=merchant,
            platform=platform,
            terms=terms,
            contract=contract,
            has_ewaybill=has_ewaybill,
            agreement_signed=(merchant.pk, platform.pk) in self.agreements,
            goods_categories=self.categories.get(parcel.pk, set()),
            live_interception=self.live.get(parcel.pk),
        )
        modes = self.carrier_modes(parcel.carrier)
        problems += rules.mode_problems(mode, new_address, supported=modes, carrier=parcel.carrier)
        return Preview(after_sale, parcel, status, contract, problems, mode=mode, modes=modes, opens_by_default=opens)


def interception_preview(
    after_sale, *, parcel=None, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None, now=None
):
    """Check eligibility (R5, R7-R11) of one of the after-sale's parcels (its first by default) and the mode and
    its new address, without changing anything."""
    parcel = parcel or after_sale.parcel
    return Facts([(after_sale, parcel)]).preview(
        after_sale, parcel, mode=mode, new_address=new_address, now=now or timezone.now()
    )


def interception_previews(after_sale, *, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None, now=None):
    """The preview of every parcel the after-sale names, the first one first."""
    now, parcels = now or timezone.now(), after_sale.named_parcels()
    facts = Facts((after_sale, parcel) for parcel in parcels)
    return [facts.preview(after_sale, parcel, mode=mode, new_address=new_address, now=now) for parcel in parcels]


def interception_start(*, after_sale_id, actor, **kwargs):
    """Start intercepting the after-sale's parcels (all it names unless `parcel_ids` chooses): the first
    interception. See `interceptions_start`."""
    return interceptions_start(after_sale_id=after_sale_id, actor=actor, **kwargs)[0]


@transaction.atomic
def interceptions_start(
    *,
    after_sale_id,
    actor,
    parcel_ids=None,
    tracking_numbers=None,
    via=InterceptionOrder.Via.MANUAL,
    mode=InterceptionMode.RETURN_TO_SENDER,
    new_address=None,
    sign_agreement=False,
):
    """Start intercepting the after-sale's parcels (R12), one interception per parcel: every way in runs exactly
    these checks.

    `parcel_ids` (or `tracking_numbers`) chooses among the parcels the after-sale names (all of them by
    default). All or nothing: one chosen parcel that cannot be intercepted refuses the whole start, with every
    failed check of every parcel (code `not_eligible`, status 422). `sign_agreement` records the merchant's
    interception agreement (R5) first, in the same transaction: the first interception of a merchant on Kuaishou
    is where the agreement is signed. The carrier is asked after commit. Returns the interceptions, in the order
    of the after-sale's parcels.
    """
    require(actor, "interception.start_interception")
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    if sign_agreement:
        agreement_sign(merchant=after_sale.merchant, platform=after_sale.platform, actor=actor)
    parcels = after_sale.named_parcels()
    named = [p.pk for p in parcels]
    if tracking_numbers is not None:  # the API names the parcels by their numbers
        by_number = {p.tracking_number: p.pk for p in parcels}
        wanted = [n.strip().upper() for n in tracking_numbers]
        if unknown := [n for n in wanted if n not in by_number]:
            refuse(
                [
                    Problem(
                        "parcel_not_named",
                        _("After-sale %(n)s does not name parcel %(t)s.") % {"n": after_sale.number, "t": n},
                        "tracking_numbers",
                    )
                    for n in unknown
                ],
                status=400,
            )
        parcel_ids = [by_number[n] for n in wanted]
    if parcel_ids is not None and (not parcel_ids or set(parcel_ids) - set(named)):
        refuse(
            [
                Problem(
                    "parcel_not_named",
                    _("Choose parcels of this after-sale to intercept.")
                    if not parcel_ids
                    else _("The after-sale does not name the chosen parcel."),
                    "parcels",
                )
            ],
            status=400,
        )
    chosen = named if parcel_ids is None else [pk for pk in named if pk in set(parcel_ids)]
    ((orders, error),) = _start_set([(after_sale, chosen)], actor=actor, via=via, mode=mode, new_address=new_address)
    if error is not None:
        raise error
    return orders


def interceptions_start_many(*, after_sale_ids, actor, via=InterceptionOrder.Via.BULK):
    """Start intercepting many after-sales at once (the bulk action), each with every parcel it names: one
    locking query per kind, the same checks per after-sale as one by one, the interceptions and the timeline
    written in bulk, one submission batch per carrier after commit. Each after-sale is refused on its own.
    Returns [(after_sale_id, interceptions, None) | (after_sale_id, None, DomainError)] in the order given."""
    require(actor, "interception.start_interception")
    ids = list(after_sale_ids)
    with transaction.atomic():
        locked = lock_many(selectors.aftersale_list(actor).select_related("merchant", "platform"), ids)
        others = {}
        for after_sale_id, parcel_id in AfterSale.other_parcels.through.objects.filter(
            aftersale__in=list(locked)
        ).values_list("aftersale", "parcel"):
            others.setdefault(after_sale_id, []).append(parcel_id)
        requests = [(locked[pk], [locked[pk].parcel_id, *sorted(others.get(pk, []))]) for pk in ids if pk in locked]
        outcomes = dict(
            zip(
                [a.pk for a, _parcels in requests],
                _start_set(requests, actor=actor, via=via, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None),
                strict=True,
            )
        )
    return [(pk, *outcomes[pk]) if pk in outcomes else (pk, None, not_found(_("After-sale"), pk)) for pk in ids]


def _start_set(requests, *, actor, via, mode, new_address):
    """Start each request (after-sale, [parcel ids]) whose every parcel may be intercepted now, on locked
    after-sales: the parcels are locked in id order (two starts never wait on each other; two after-sales can
    name one parcel), the rules judge each request on its own, the writes go out together. Returns
    [(orders, None) | (None, DomainError)] in the order of the requests."""
    parcels = lock_many(
        Parcel.objects.select_related("carrier", "outlet"), [pk for _a, chosen in requests for pk in chosen]
    )
    now = timezone.now()
    facts = Facts((after_sale, parcels[pk]) for after_sale, chosen in requests for pk in chosen)
    outcomes, orders, entries, after_sales, taken = [], [], [], [], set()
    for after_sale, chosen in requests:
        previews = [
            facts.preview(after_sale, parcels[pk], mode=mode, new_address=new_address, now=now) for pk in chosen
        ]
        try:
            if problems := _problems_of(previews):
                refuse(
                    problems,
                    code="not_eligible",
                    message=_("This parcel cannot be intercepted: %(r)s")
                    % {"r": "; ".join(str(p.message) for p in problems)},
                    status=422,
                )
            if taken & set(chosen):  # an earlier after-sale of the same set intercepts the parcel
                raise _exists()
            check(after_sale, "start_interception", actor=actor)
        except DomainError as error:
            outcomes.append((None, error))
            continue
        taken |= set(chosen)
        for preview in previews:
            if preview.opens_by_default:
                preview.contract = contract_open_by_default(
                    merchant=after_sale.merchant,
                    outlet=preview.parcel.outlet,
                    platform=after_sale.platform,
                    actor=actor,
                    reason=after_sale.number,  # the after-sale whose interception opened it
                )
        made = [_order(preview, mode, new_address, via, actor, now) for preview in previews]
        orders += made
        entries.append(
            fire(
                after_sale,
                "start_interception",
                actor=actor,
                at=now,
                window_ends_at=rules.handling_window_end(after_sale.platform, now),
            )
        )
        after_sales.append(after_sale)
        outcomes.append((made, None))
    if not orders:
        return outcomes
    try:
        with transaction.atomic():
            InterceptionOrder.objects.bulk_create(orders, batch_size=timeline.BATCH)
    except IntegrityError:  # the partial unique index: a start that slipped past the parcel's lock
        raise _exists() from None
    timeline.record_many(
        [
            timeline.entry_for(
                order, actor=actor, transition="request", to_state=order.state, at=now, reason=order.get_via_display()
            )
            for order in orders
        ]
        + entries
    )
    sql.update_rows(AfterSale, after_sales, ["state", "intercepting_since", "window_ends_at"])
    by_carrier = {}
    for order in orders:
        notify.interception_started(order)
        by_carrier.setdefault(order.carrier_id, []).append(order.pk)
    for ids in by_carrier.values():
        transaction.on_commit(lambda ids=ids: interceptions_submit(order_ids=ids))
    return outcomes


def _exists():
    message = _("This parcel is being intercepted already.")
    return DomainError(
        "interception_exists", message, errors=[{"code": "interception_exists", "message": message}], status=422
    )


def _problems_of(previews):
    """Every parcel's problems; with several parcels each message names its parcel."""
    if len(previews) == 1:
        return previews[0].problems
    return [
        Problem(p.code, f"{preview.parcel.tracking_number}: {p.message}", p.field)
        for preview in previews
        for p in preview.problems
    ]


def _order(preview, mode, new_address, via, actor, now):
    """The interception of one parcel, unsaved, with the fee snapshot of its contract (R6)."""
    contract, parcel, after_sale = preview.contract, preview.parcel, preview.after_sale
    return InterceptionOrder(
        parcel=parcel,
        after_sale=after_sale,
        tracking_number=parcel.tracking_number,
        merchant_id=after_sale.merchant_id,
        outlet_id=parcel.outlet_id,
        carrier_id=parcel.carrier_id,
        platform_id=after_sale.platform_id,
        contract=contract,
        settlement_mode=contract.settlement_mode,
        fee=preview.fee,
        fee_includes_return=contract.fee_includes_return,
        mode=mode,
        **{column: ((new_address or {}).get(part) or "").strip() for part, column in rules.NEW_ADDRESS_FIELDS.items()},
        charge_on_success=contract.charge_succeeded,
        charge_on_failure=contract.charge_failed,
        via=via,
        requested_by=actor,
        requested_at=now,
        next_submit_at=now + SUBMIT_RETRY[0],
    )


def interceptions_submit(*, order_ids):
    """A batch of one carrier's new interceptions handed over one by one, each in its own transaction."""
    for order_id in order_ids:
        interception_submit(order_id=order_id)


def interception_submit(*, order_id, now=None):
    """Hand a requested interception to its carrier's service: a service that cannot take it now is asked
    again later (backoff); one that refuses it for good (or no such adapter) fails it with the reason, so the
    merchant decides within the handling window (R15) instead of it being asked forever."""
    now = now or timezone.now()
    with transaction.atomic():
        # Only the order's row: a lock on the shared carrier row would make concurrent submissions skip each other.
        order = (
            InterceptionOrder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("carrier")
            .filter(pk=order_id, state=InterceptionOrder.State.REQUESTED)
            .first()
        )
        if order is None:  # submitted already, resolved, or another worker has it right now
            return None
        try:
            ref = carriers.adapter_for(order.carrier).submit(order, ServiceClient(order.carrier, interception=order))
        except carriers.CarrierRefused as exc:
            order.submit_attempts += 1
            order.last_submit_error = str(exc)
            take(
                order,
                "fail",
                actor=None,
                at=now,
                source=InterceptionOrder.Source.SUBMISSION,
                reason_code=exc.code or "refused",
                reason_text=str(exc),
                reason=str(exc),
            )
            return order
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
