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
from interception.services.contracts import agreement_sign, contract_in_force, contract_open_by_default
from kernel import timeline
from kernel.errors import DomainError, refuse
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


def interception_preview(after_sale, *, mode=InterceptionMode.RETURN_TO_SENDER, new_address=None, now=None):
    """Check eligibility (R5, R7-R11) and the mode and its new address, without changing anything."""
    parcel, merchant, platform = after_sale.parcel, after_sale.merchant, after_sale.platform
    now = now or timezone.now()
    status = parcel.logistics_status(now)
    terms = PlatformCarrier.objects.filter(platform=platform, carrier=parcel.carrier_id).first()
    has_ewaybill = EwaybillAccount.objects.filter(
        merchant=merchant, outlet=parcel.outlet_id, platform=platform, active=True
    ).exists()
    contract, opens_by_default = contract_in_force(
        merchant=merchant, outlet=parcel.outlet, platform=platform, terms=terms, has_ewaybill=has_ewaybill
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
        agreement_signed=InterceptionAgreement.objects.filter(merchant=merchant, platform=platform).exists(),
        goods_categories=set(parcel.goods.values_list("category", flat=True)),
        live_interception=parcel.interceptions.filter(state__in=InterceptionOrder.LIVE_STATES).first(),
    )
    modes = carrier_modes(parcel.carrier)
    problems += rules.mode_problems(mode, new_address, supported=modes, carrier=parcel.carrier)
    return Preview(
        after_sale, parcel, status, contract, problems, mode=mode, modes=modes, opens_by_default=opens_by_default
    )


@transaction.atomic
def interception_start(
    *,
    after_sale_id,
    actor,
    via=InterceptionOrder.Via.MANUAL,
    mode=InterceptionMode.RETURN_TO_SENDER,
    new_address=None,
    sign_agreement=False,
):
    """Start intercepting the after-sale's parcel (R12): every way in runs exactly these checks.

    `sign_agreement` records the merchant's interception agreement (R5) first, in the same transaction: the
    first interception of a merchant on Kuaishou is where the agreement is signed.

    Refused with every failed check (code `not_eligible`, status 422). The carrier is asked after commit.
    """
    require(actor, "interception.start_interception")
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    if sign_agreement:
        agreement_sign(merchant=after_sale.merchant, platform=after_sale.platform, actor=actor)
    # Serialise starts on one parcel (two after-sales can name it); the partial unique index is the last word.
    after_sale.parcel = (
        Parcel.objects.select_for_update(of=("self",)).select_related("carrier", "outlet").get(pk=after_sale.parcel_id)
    )
    preview = interception_preview(after_sale, mode=mode, new_address=new_address)
    if preview.problems:
        refuse(
            preview.problems,
            code="not_eligible",
            message=_("This parcel cannot be intercepted: %(r)s")
            % {"r": "; ".join(str(p.message) for p in preview.problems)},
            status=422,
        )
    if preview.opens_by_default:
        preview.contract = contract_open_by_default(
            merchant=after_sale.merchant,
            outlet=preview.parcel.outlet,
            platform=after_sale.platform,
            actor=actor,
            reason=after_sale.number,  # the after-sale whose interception opened it
        )
    contract, parcel, now = preview.contract, preview.parcel, timezone.now()
    try:
        with transaction.atomic():
            order = InterceptionOrder.objects.create(
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
                **{
                    column: ((new_address or {}).get(part) or "").strip()
                    for part, column in rules.NEW_ADDRESS_FIELDS.items()
                },
                charge_on_success=contract.charge_succeeded,
                charge_on_failure=contract.charge_failed,
                via=via,
                requested_by=actor,
                requested_at=now,
                next_submit_at=now + SUBMIT_RETRY[0],
            )
    except IntegrityError:
        raise DomainError(
            "interception_exists",
            _("This parcel is being intercepted already."),
            errors=[{"code": "interception_exists", "message": _("This parcel is being intercepted already.")}],
            status=422,
        ) from None
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
    notify.interception_started(order)
    transaction.on_commit(lambda: interception_submit(order_id=order.pk))
    return order


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
