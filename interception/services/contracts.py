"""Domain actions on outlet contracts (R1-R6). Admin, API, file imports and automation call these."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import notify, rules, selectors
from interception.models import (
    Contract,
    ContractFee,
    EwaybillAccount,
    FeeAmendment,
    InterceptionAgreement,
    PlatformCarrier,
    SettlementMode,
)
from kernel import timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.transitions import lock, require, take

AUTO_APPROVED = _("approved automatically: carrier requires no review")


@dataclass
class OutletOutcome:
    outlet: object
    contract: Contract | None = None
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return self.contract is not None


def contract_apply(*, merchant, platform, outlets, mode, fee, actor, charge_failed=False, mode_fees=None):
    """Apply for a contract with each outlet; each outlet succeeds or is refused on its own.

    Online contracts take the platform's fee. Outlets of carriers that need no
    review (YTO, R3) are active at once. `mode_fees` may give an offline contract its own fee for going back
    to the sending outlet and for a reroute ({"fee_return_outlet": …, "fee_reroute": …}; empty: the fee).
    """
    require(actor, "interception.apply_contract")
    selectors.require_own_merchant(actor, merchant)
    if mode not in SettlementMode.values:
        raise DomainError("mode_invalid", _("Unknown settlement mode %(m)s.") % {"m": mode}, status=400)
    mode_fees = {name: value for name, value in (mode_fees or {}).items() if value not in (None, "")}
    if problems := rules.application_fee_problems(mode, fee) + rules.mode_fee_problems(mode, mode_fees):
        refuse(problems, status=400)
    if mode == SettlementMode.ONLINE:
        fee = platform.online_fee
    outcomes = []
    for outlet in outlets:
        outcomes.append(
            _apply_one(
                merchant=merchant,
                platform=platform,
                outlet=outlet,
                mode=mode,
                fee=fee,
                actor=actor,
                charge_failed=charge_failed,
                mode_fees=mode_fees,
            )
        )
    return outcomes


def _apply_one(*, merchant, platform, outlet, mode, fee, actor, charge_failed, mode_fees):
    terms = PlatformCarrier.objects.filter(platform=platform, carrier=outlet.carrier_id).first()
    problems = rules.contract_application_problems(
        merchant=merchant,
        outlet=outlet,
        platform=platform,
        mode=mode,
        fee=fee,
        terms=terms,
        has_ewaybill=EwaybillAccount.objects.filter(
            merchant=merchant, outlet=outlet, platform=platform, active=True
        ).exists(),
        has_live_contract=Contract.objects.filter(
            merchant=merchant, outlet=outlet, platform=platform, state__in=Contract.LIVE_STATES
        ).exists(),
    )
    if problems:
        return OutletOutcome(outlet, problems=problems)
    now = timezone.now()
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                merchant=merchant,
                outlet=outlet,
                platform=platform,
                settlement_mode=mode,
                fee=Decimal(fee).quantize(Decimal("0.01")),
                **{name: Decimal(value).quantize(Decimal("0.01")) for name, value in mode_fees.items()},
                charge_failed=charge_failed,
                applied_by=actor,
                applied_at=now,
            )
            timeline.record(contract, actor=actor, transition="apply", to_state=Contract.State.PENDING, at=now)
            if not terms.approval_required:
                _approve(contract, actor=None, at=now, reason=AUTO_APPROVED)
            else:
                notify.application_waiting(contract)
    except IntegrityError:
        # Another application for the same merchant × outlet × platform won the race.
        return OutletOutcome(
            outlet,
            problems=[
                Problem(
                    "contract_exists",
                    _("A pending or active contract with outlet %(o)s exists already.") % {"o": outlet},
                    "outlets",
                )
            ],
        )
    return OutletOutcome(outlet, contract=contract)


def _approve(contract, *, actor, at=None, reason=""):
    at = take(contract, "approve", actor=actor, reason=reason, at=at)
    ContractFee.objects.create(contract=contract, fee=contract.fee, effective_from=at)


@transaction.atomic
def contract_approve(*, contract_id, actor, reason=""):
    contract = lock(selectors.contract_list(actor), contract_id, what=_("Application"))
    _approve(contract, actor=actor, reason=reason)
    return contract


@transaction.atomic
def contract_reject(*, contract_id, actor, reason):
    contract = lock(selectors.contract_list(actor), contract_id, what=_("Application"))
    take(contract, "reject", actor=actor, reason=reason, reason_for=_("reject an application"))
    return contract


@transaction.atomic
def contract_close(*, contract_id, actor, reason):
    """Close an active contract (关闭服务, R4): a reason is required; it stays in history."""
    contract = lock(selectors.contract_list(actor), contract_id, what=_("Contract"))
    at = take(contract, "close", actor=actor, reason=reason, reason_for=_("close a contract"))
    # A fee change waiting for approval dies with the contract.
    for amendment in contract.amendments.filter(state=FeeAmendment.State.PENDING).select_for_update():
        take(
            amendment,
            "reject",
            actor=actor,
            event="reject_fee_change",
            reason=_("contract closed"),
            reason_for=_("reject a fee change"),
            at=at,
        )
    return contract


@transaction.atomic
def contract_amend_fee(*, contract_id, new_fee, actor):
    """Request a fee change (R6); the old fee stays in force until the outlet approves."""
    require(actor, "interception.amend_contract_fee")
    contract = lock(selectors.contract_list(actor), contract_id, what=_("Contract"))
    if problems := rules.fee_change_problems(contract):
        refuse(problems)
    if problems := rules.fee_problems(new_fee, field="new_fee"):
        refuse(problems, status=400)
    new_fee = Decimal(new_fee).quantize(Decimal("0.01"))
    if new_fee == contract.fee:
        raise DomainError("fee_unchanged", _("The new fee equals the fee in force."), status=400)
    if contract.amendments.filter(state=FeeAmendment.State.PENDING).exists():
        raise DomainError("amendment_pending", _("A fee change is already waiting for the outlet's approval."))
    amendment = FeeAmendment.objects.create(
        contract=contract, old_fee=contract.fee, new_fee=new_fee, requested_by=actor
    )
    timeline.record(
        contract,
        actor=actor,
        transition="request_fee_change",
        reason=f"{contract.fee} → {new_fee}",
        at=amendment.requested_at,
    )
    timeline.record(
        amendment,
        actor=actor,
        transition="request_fee_change",
        to_state=FeeAmendment.State.PENDING,
        at=amendment.requested_at,
    )
    notify.fee_change_waiting(amendment)
    return amendment


@transaction.atomic
def amendment_approve(*, amendment_id, actor, reason=""):
    amendment = lock(selectors.amendment_list(actor), amendment_id, what=_("Fee change"))
    contract = Contract.objects.select_for_update().get(pk=amendment.contract_id)
    if problems := rules.fee_change_problems(contract):  # closed meanwhile
        refuse(problems)
    at = take(amendment, "approve", actor=actor, event="approve_fee_change", reason=reason)
    contract.fee = amendment.new_fee
    contract.save(update_fields=["fee"])
    ContractFee.objects.create(contract=contract, fee=amendment.new_fee, effective_from=at, amendment=amendment)
    timeline.record(
        contract,
        actor=actor,
        transition="approve_fee_change",
        reason=f"{amendment.old_fee} → {amendment.new_fee}",
        at=at,
    )
    return amendment


@transaction.atomic
def amendment_reject(*, amendment_id, actor, reason):
    amendment = lock(selectors.amendment_list(actor), amendment_id, what=_("Fee change"))
    at = take(
        amendment, "reject", actor=actor, event="reject_fee_change", reason=reason, reason_for=_("reject a fee change")
    )
    timeline.record(
        amendment.contract,
        actor=actor,
        transition="reject_fee_change",
        reason=f"{amendment.old_fee} → {amendment.new_fee}: {amendment.reject_reason}",
        at=at,
    )
    return amendment


@transaction.atomic
def agreement_sign(*, merchant, platform, actor):
    """Record that the merchant signed the interception agreement on this platform (R5); idempotent."""
    require(actor, "interception.sign_agreement")
    selectors.require_own_merchant(actor, merchant)
    if merchant.platform_id != platform.pk:
        raise DomainError(
            "wrong_platform", _("The merchant's shop is on %(p)s.") % {"p": merchant.platform}, status=400
        )
    agreement, created = InterceptionAgreement.objects.get_or_create(
        merchant=merchant, platform=platform, defaults={"signed_by": actor}
    )
    if created:
        timeline.record(
            merchant, actor=actor, transition="sign_agreement", reason=str(platform), at=agreement.signed_at
        )
    return agreement, created
