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
    EwaybillAccount,
    InterceptionAgreement,
    InterceptionMode,
    InterceptionOrder,
    Parcel,
    PlatformCarrier,
)
from interception.services.contracts import agreement_sign
from kernel import timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.transitions import lock, require, take

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


def interception_preview(
    after_sale, *, parcel=None, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None, now=None
):
    """Check eligibility (R5, R7-R11) of one of the after-sale's parcels (its first by default) and the mode and
    its new address, without changing anything."""
    parcel = parcel or after_sale.parcel
    merchant, platform = after_sale.merchant, after_sale.platform
    now = now or timezone.now()
    status = parcel.logistics_status(now)
    contract = selectors.active_contract_for(
        merchant_id=merchant.pk, outlet_id=parcel.outlet_id, platform_id=platform.pk
    )
    problems = rules.interception_problems(
        after_sale=after_sale,
        parcel=parcel,
        logistics_status=status,
        merchant=merchant,
        platform=platform,
        terms=PlatformCarrier.objects.filter(platform=platform, carrier=parcel.carrier_id).first(),
        contract=contract,
        has_ewaybill=EwaybillAccount.objects.filter(
            merchant=merchant, outlet=parcel.outlet_id, platform=platform, active=True
        ).exists(),
        agreement_signed=InterceptionAgreement.objects.filter(merchant=merchant, platform=platform).exists(),
        goods_categories=set(parcel.goods.values_list("category", flat=True)),
        live_interception=parcel.interceptions.filter(state__in=InterceptionOrder.LIVE_STATES).first(),
    )
    modes = carrier_modes(parcel.carrier)
    problems += rules.mode_problems(mode, new_address, supported=modes, carrier=parcel.carrier)
    return Preview(after_sale, parcel, status, contract, problems, mode=mode, modes=modes)


def interception_previews(after_sale, *, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None, now=None):
    """The preview of every parcel the after-sale names, the first one first."""
    now = now or timezone.now()
    return [
        interception_preview(after_sale, parcel=parcel, mode=mode, new_address=new_address, now=now)
        for parcel in after_sale.named_parcels()
    ]


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
    via=InterceptionOrder.Via.MANUAL,
    mode=InterceptionMode.RETURN_TO_SENDER,
    new_address=None,
    sign_agreement=False,
):
    """Start intercepting the after-sale's parcels (R12), one interception per parcel: every way in runs exactly
    these checks.

    `parcel_ids` chooses among the parcels the after-sale names (all of them by default). All or nothing: one
    chosen parcel that cannot be intercepted refuses the whole start, with every failed check of every parcel
    (code `not_eligible`, status 422). `sign_agreement` records the merchant's interception agreement (R5) first,
    in the same transaction: the first interception of a merchant on Kuaishou is where the agreement is signed.
    The carrier is asked after commit. Returns the interceptions, in the order of the after-sale's parcels.
    """
    require(actor, "interception.start_interception")
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    if sign_agreement:
        agreement_sign(merchant=after_sale.merchant, platform=after_sale.platform, actor=actor)
    named = [p.pk for p in after_sale.named_parcels()]
    chosen = named if parcel_ids is None else [pk for pk in named if pk in set(parcel_ids)]
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
    # Serialise starts on one parcel (two after-sales can name it), in id order so that two starts never wait on
    # each other; the partial unique index is the last word.
    parcels = {
        p.pk: p
        for p in Parcel.objects.select_for_update(of=("self",))
        .select_related("carrier", "outlet")
        .filter(pk__in=chosen)
        .order_by("id")
    }
    now = timezone.now()
    previews = [
        interception_preview(after_sale, parcel=parcels[pk], mode=mode, new_address=new_address, now=now)
        for pk in chosen
    ]
    if problems := _problems_of(previews):
        refuse(
            problems,
            code="not_eligible",
            message=_("This parcel cannot be intercepted: %(r)s") % {"r": "; ".join(str(p.message) for p in problems)},
            status=422,
        )
    try:
        with transaction.atomic():
            orders = [_create_order(preview, mode, new_address, via, actor, now) for preview in previews]
    except IntegrityError:
        raise DomainError(
            "interception_exists",
            _("This parcel is being intercepted already."),
            errors=[{"code": "interception_exists", "message": _("This parcel is being intercepted already.")}],
            status=422,
        ) from None
    for order in orders:
        timeline.record(
            order, actor=actor, transition="request", to_state=order.state, at=now, reason=order.get_via_display()
        )
    take(
        after_sale,
        "start_interception",
        actor=actor,
        at=now,
        window_ends_at=rules.handling_window_end(after_sale.platform, now),
    )
    for order in orders:
        notify.interception_started(order)
        transaction.on_commit(lambda pk=order.pk: interception_submit(order_id=pk))
    return orders


def _problems_of(previews):
    """Every parcel's problems; with several parcels each message names its parcel."""
    if len(previews) == 1:
        return previews[0].problems
    return [
        Problem(p.code, f"{preview.parcel.tracking_number}: {p.message}", p.field)
        for preview in previews
        for p in preview.problems
    ]


def _create_order(preview, mode, new_address, via, actor, now):
    contract, parcel, after_sale = preview.contract, preview.parcel, preview.after_sale
    return InterceptionOrder.objects.create(
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
        mode=mode,
        **{column: ((new_address or {}).get(part) or "").strip() for part, column in rules.NEW_ADDRESS_FIELDS.items()},
        charge_on_success=contract.charge_succeeded,
        charge_on_failure=contract.charge_failed,
        via=via,
        requested_by=actor,
        requested_at=now,
        next_submit_at=now + SUBMIT_RETRY[0],
    )


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
