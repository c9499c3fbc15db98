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
from kernel import sql, timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.transitions import check, fire, lock, lock_many, not_found, require, take

AUTO_APPROVED = _("approved automatically: carrier requires no review")


@dataclass
class OutletOutcome:
    outlet: object
    contract: Contract | None = None
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return self.contract is not None


def contract_apply(
    *, merchant, platform, outlets, mode, fee, actor, charge_failed=False, mode_fees=None, fee_includes_return=False
):
    """Apply for a contract with each outlet; each outlet succeeds or is refused on its own.

    Online contracts take the platform's fee, which covers return shipping (R19); an offline fee covers it
    when `fee_includes_return` says so. Outlets of carriers that need no
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
                fee_includes_return=rules.fee_includes_return(mode, fee_includes_return),
            )
        )
    return outcomes


def _apply_one(*, merchant, platform, outlet, mode, fee, actor, charge_failed, mode_fees, fee_includes_return):
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
                fee_includes_return=fee_includes_return,
                applied_by=actor,
                applied_at=now,
            )
            timeline.record(contract, actor=actor, transition="apply", to_state=Contract.State.PENDING, at=now)
            if not terms.approval_required:
                changes = _Changes()
                decision = Decision(APPLICATION, contract.pk, APPROVE)
                _decide_contract(contract, decision, None, now, changes, reason=AUTO_APPROVED)
                changes.write()
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


def contract_by_default(*, merchant, outlet, platform, terms):
    """The contract the terms open by default (R3), unsaved: what the interception page shows before the start
    and what contract_open_by_default creates. Online where the terms offer it (the platform's fee, covering
    return shipping, R19), else offline at the terms' default fee."""
    mode = terms.default_mode
    fee = platform.online_fee if mode == SettlementMode.ONLINE else terms.default_fee
    return Contract(
        merchant=merchant,
        outlet=outlet,
        platform=platform,
        settlement_mode=mode,
        fee=fee,
        fee_includes_return=rules.fee_includes_return(mode, False),
        state=Contract.State.ACTIVE,
    )


def contract_open_by_default(*, merchant, outlet, platform, actor, reason=""):
    """Open the merchant's contract with an outlet its platform opens by default (R3), active at once, as the
    terms give it; recorded on the contract's timeline as opened by default. Called inside the transaction
    that starts the interception needing it. Returns the active contract: the one opened here, or the one a
    concurrent start of another parcel of the same merchant × outlet opened a moment before."""
    live = {"merchant": merchant, "outlet": outlet, "platform": platform}
    with transaction.atomic():
        # The e-waybill account (R1) is the merchant × outlet's row: the second of two concurrent starts waits
        # here for the first to commit, then finds its contract instead of making a second one.
        account = EwaybillAccount.objects.select_for_update().filter(**live, active=True).first()
        existing = Contract.objects.filter(**live, state=Contract.State.ACTIVE).first()
        if existing is not None:
            return existing
        terms = PlatformCarrier.objects.filter(platform=platform, carrier=outlet.carrier_id).first()
        had_contract = Contract.objects.filter(**live).exists()
        if not rules.opens_by_default(terms=terms, has_ewaybill=account is not None, had_contract=had_contract):
            raise DomainError(
                "no_active_contract",
                _("The merchant has no active contract with outlet %(o)s.") % {"o": outlet},
                status=422,
            )
        now = timezone.now()
        contract = contract_by_default(merchant=merchant, outlet=outlet, platform=platform, terms=terms)
        contract.applied_by, contract.applied_at, contract.decided_at = actor, now, now
        try:
            with transaction.atomic():
                contract.save()
        except IntegrityError:
            # A live contract appeared without passing the lock (an application made meanwhile).
            existing = Contract.objects.filter(**live, state=Contract.State.ACTIVE).first()
            if existing is None:
                raise DomainError(
                    "contract_exists",
                    _("A pending or active contract with outlet %(o)s exists already.") % {"o": outlet},
                    status=409,
                ) from None
            return existing
        ContractFee.objects.create(contract=contract, fee=contract.fee, effective_from=now)
        timeline.record(
            contract, actor=actor, transition="open_by_default", to_state=contract.state, reason=reason, at=now
        )
    return contract


APPLICATION, FEE_CHANGE = "application", "fee_change"
DECISION_CHUNK = 5_000
APPROVE, REJECT = "approve", "reject"
WHAT = {APPLICATION: _("Application"), FEE_CHANGE: _("Fee change")}


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision of a set: approve or reject (the transitions' names) one application or fee change.
    `key` is what the caller reports a refusal against (a file's row number, a selected object)."""

    kind: str
    id: int
    action: str
    reason: str = ""
    key: object = None


class DecisionsRefused(DomainError):
    """Some decisions of an all-or-nothing set were refused; nothing was applied. `refusals` holds
    (decision, DomainError) in the order given."""

    def __init__(self, refusals):
        self.refusals = refusals
        first = refusals[0][1]
        super().__init__(first.code, first.message, errors=first.errors, status=first.status)


def decisions_apply(*, decisions, actor, all_or_nothing=True):
    """Apply a set of decisions on applications (R3) and fee changes (R6) as one: the rows a chunk of the set
    (DECISION_CHUNK decisions) names are locked in one query per kind, the state machine judges each decision on
    its locked row (state, permission, reason) as one by one, and the chunk's changes are written together: one
    UPDATE per kind of change, the fee history and the timeline in bulk INSERTs.

    All or nothing (the decision file): when any decision is refused, DecisionsRefused lists every refusal and
    nothing is written. Otherwise (the bulk actions) the allowed ones are applied. Returns
    [(decision, object, None) | (decision, None, DomainError)] in the order given; in a set larger than one
    chunk, the object is None (the rows are not kept).
    """
    decisions = list(decisions)
    at = timezone.now()
    ordered, refused = [], []
    with transaction.atomic():
        # A chunk at a time, so that memory holds one chunk's rows and writes whatever the set's size; the
        # transaction keeps it all or nothing: once a refusal is found nothing more is written, the rest is only
        # judged (every refusal is listed), and the refusal rolls back what was written.
        for start in range(0, len(decisions), DECISION_CHUNK):
            chunk = decisions[start : start + DECISION_CHUNK]
            changes = _Changes()
            outcomes = _decide_contracts(chunk, actor, at, changes) | _decide_amendments(chunk, actor, at, changes)
            part = [outcomes[index] for index in range(len(chunk))]
            refused += [(d, error) for d, _obj, error in part if error is not None]
            if not (refused and all_or_nothing):
                changes.write()
            # A large set's outcomes keep the ids, not the rows (the file's caller needs the refusals only).
            ordered += part if len(decisions) <= DECISION_CHUNK else [(d, None, e) for d, _o, e in part]
        if refused and all_or_nothing:
            raise DecisionsRefused(refused)
    return ordered


class _Changes:
    """What a set of decisions writes, gathered while the machine judges each row."""

    def __init__(self):
        self.contracts, self.contract_fees, self.amendments, self.entries, self.fee_history = {}, {}, {}, [], []

    def write(self):
        sql.update_rows(Contract, self.contracts.values(), ["state", "decided_by", "decided_at", "reject_reason"])
        sql.update_rows(Contract, self.contract_fees.values(), ["fee"])
        sql.update_rows(FeeAmendment, self.amendments.values(), ["state", "decided_by", "decided_at", "reject_reason"])
        ContractFee.objects.bulk_create(self.fee_history, batch_size=timeline.BATCH)
        timeline.record_many(self.entries)


def _decide_contracts(decisions, actor, at, changes):
    wanted = [(index, d) for index, d in enumerate(decisions) if d.kind == APPLICATION]
    if not wanted:
        return {}
    # The scope's joins filter; the related rows themselves are not needed to decide.
    locked = lock_many(selectors.contract_list(actor).select_related(None), [d.id for _index, d in wanted])
    outcomes = {}
    for index, d in wanted:
        contract = locked.get(d.id)
        try:
            if contract is None:
                raise not_found(WHAT[APPLICATION], d.id)
            _decide_contract(contract, d, actor, at, changes)
        except DomainError as error:
            outcomes[index] = (d, None, error)
        else:
            outcomes[index] = (d, contract, None)
    return outcomes


def _decide_contract(contract, d, actor, at, changes, *, reason=None):
    """Judge and take one decision on a locked contract, gathering what it writes."""
    reason_for = _("reject an application") if d.action == REJECT else None
    reason = check(
        contract, d.action, actor=actor, reason=d.reason if reason is None else reason, reason_for=reason_for
    )
    changes.entries.append(fire(contract, d.action, actor=actor, at=at, reason=reason, reason_for=reason_for))
    changes.contracts[contract.pk] = contract
    if d.action == APPROVE:
        changes.fee_history.append(ContractFee(contract=contract, fee=contract.fee, effective_from=at))


def _decide_amendments(decisions, actor, at, changes):
    wanted = [(index, d) for index, d in enumerate(decisions) if d.kind == FEE_CHANGE]
    if not wanted:
        return {}
    locked = lock_many(selectors.amendment_list(actor).select_related(None), [d.id for _index, d in wanted])
    contracts = lock_many(Contract.objects.all(), [a.contract_id for a in locked.values()])
    outcomes = {}
    for index, d in wanted:
        amendment = locked.get(d.id)
        try:
            if amendment is None:
                raise not_found(WHAT[FEE_CHANGE], d.id)
            _decide_amendment(amendment, contracts[amendment.contract_id], d, actor, at, changes)
        except DomainError as error:
            outcomes[index] = (d, None, error)
        else:
            outcomes[index] = (d, amendment, None)
    return outcomes


def _decide_amendment(amendment, contract, d, actor, at, changes):
    if d.action == APPROVE and (problems := rules.fee_change_problems(contract)):  # closed meanwhile
        refuse(problems)
    reason_for = _("reject a fee change") if d.action == REJECT else None
    reason = check(amendment, d.action, actor=actor, reason=d.reason, reason_for=reason_for)
    event = f"{d.action}_fee_change"
    changes.entries.append(
        fire(amendment, d.action, actor=actor, at=at, event=event, reason=reason, reason_for=reason_for)
    )
    changes.amendments[amendment.pk] = amendment
    change = f"{amendment.old_fee} → {amendment.new_fee}"
    if d.action == APPROVE:
        contract.fee = amendment.new_fee
        changes.contract_fees[contract.pk] = contract
        changes.fee_history.append(
            ContractFee(contract=contract, fee=amendment.new_fee, effective_from=at, amendment=amendment)
        )
    else:
        change = f"{change}: {amendment.reject_reason}"
    changes.entries.append(timeline.entry_for(contract, actor=actor, transition=event, reason=change, at=at))


def _decide_one(kind, action, pk, actor, reason):
    """One decision through the set-based service, refused as the single-row services always were."""
    try:
        ((_decision, obj, _error),) = decisions_apply(
            decisions=[Decision(kind, pk, action, reason)], actor=actor, all_or_nothing=True
        )
    except DecisionsRefused as refused:
        raise refused.refusals[0][1] from None
    return obj


def contract_approve(*, contract_id, actor, reason=""):
    return _decide_one(APPLICATION, APPROVE, contract_id, actor, reason)


def contract_reject(*, contract_id, actor, reason):
    return _decide_one(APPLICATION, REJECT, contract_id, actor, reason)


def amendment_approve(*, amendment_id, actor, reason=""):
    return _decide_one(FEE_CHANGE, APPROVE, amendment_id, actor, reason)


def amendment_reject(*, amendment_id, actor, reason):
    return _decide_one(FEE_CHANGE, REJECT, amendment_id, actor, reason)


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
