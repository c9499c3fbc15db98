"""Domain actions on claims (R23-R26): the admin, the API and the candidates action all call these."""

from datetime import timedelta
from decimal import Decimal

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from claims import notify, rules, selectors
from claims.models import Claim, ClaimGoodsLine, Evidence
from interception import selectors as interception_selectors
from interception.models import InterceptionOrder, Platform
from kernel import timeline
from kernel.errors import DomainError, refuse
from kernel.money import parse_amount, payment_record_problems
from kernel.transitions import find, invalid_state, lock, require, take


def goods_from_parcel(order):
    """The parcel's goods as claim lines: what a loss claim starts from."""
    return [
        {"name": g.name, "quantity": g.quantity, "specification": g.specification or "—", "value": g.value}
        for g in order.parcel.goods.order_by("id")
    ]


def side_of(actor):
    """Outlet staff negotiate for the outlet; customer service, the merchant's client and the system for the
    merchant."""
    scope = interception_selectors.scope_for(actor) if actor is not None else None
    return Claim.Side.OUTLET if scope is not None and scope.outlet_staff else Claim.Side.MERCHANT


def claim_file(*, actor, interception_id, kind, amount=None, description="", goods=None, photos=(), now=None):
    """File a claim on an interception whose return failed (R23), with its evidence (R24), within the cap (R26)."""
    require(actor, "claims.add_claim")
    now = now or timezone.now()
    order = find(
        interception_selectors.interception_list(actor).select_related("platform", "parcel"),
        interception_id,
        what=_("Interception"),
    )
    interception_selectors.require_own_merchant(actor, order.merchant)
    if kind not in Claim.Kind.values:
        raise DomainError("kind_invalid", _("A claim is for a loss or a damage."), status=400)
    goods = list(goods) if goods else goods_from_parcel(order)
    problems = rules.claimable_problems(
        order, kind, order.platform, now, has_open_claim=order.claims.filter(state__in=Claim.OPEN_STATES).exists()
    )
    problems += rules.evidence_problems(kind, goods, photos)
    images = []
    for photo in photos:
        detected, photo_problems = rules.image_problems(photo)
        problems += photo_problems
        images.append((photo, detected))
    if not problems:  # the value of goods that are not valid means nothing
        goods_value = sum((parse_amount(g.get("value")) * int(g.get("quantity") or 1) for g in goods), Decimal("0.00"))
        if amount in (None, ""):
            amount = min(goods_value, order.platform.claim_cap)
        problems += rules.amount_problems(amount, goods_value=goods_value, cap=order.platform.claim_cap)
    if problems:
        refuse(
            problems, status=422 if problems[0].code in ("return_not_failed", "kind_mismatch", "claim_exists") else 400
        )
    amount = parse_amount(amount)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                interception=order,
                merchant_id=order.merchant_id,
                outlet_id=order.outlet_id,
                carrier_id=order.carrier_id,
                platform_id=order.platform_id,
                tracking_number=order.tracking_number,
                kind=kind,
                description=(description or "").strip(),
                goods_value=goods_value,
                claimed_amount=amount,
                offer_amount=amount,
                succeeded_at=order.result_at,
                filed_by=actor,
                filed_at=now,
            )
            ClaimGoodsLine.objects.bulk_create(
                [
                    ClaimGoodsLine(
                        claim=claim,
                        name=str(g["name"]).strip(),
                        quantity=int(g.get("quantity") or 1),
                        specification=str(g.get("specification") or "").strip(),
                        value=parse_amount(g["value"]),
                    )
                    for g in goods
                ]
            )
            for photo, detected in images:
                _store(claim, actor, photo, detected, now)
            timeline.record(
                claim,
                actor=actor,
                transition="file",
                to_state=claim.state,
                at=now,
                reason=_("%(k)s, %(a)s yuan") % {"k": claim.get_kind_display(), "a": amount},
            )
            notify.claim_filed(claim)
    except IntegrityError:
        raise DomainError("claim_exists", _("This interception has an open claim already."), status=409) from None
    return claim


def _store(claim, actor, photo, detected, now):
    """Save a checked photo from its file object: copied in chunks, or moved when Django put it in a temporary file."""
    content_type, suffix = rules.IMAGE_TYPES[detected]
    evidence = Evidence(
        claim=claim,
        content_type=content_type,
        size=photo.size,
        uploaded_by=actor,
        uploaded_at=now,
        original_name=str(getattr(photo, "name", "") or ""),
    )
    photo.seek(0)
    evidence.file.save(f"photo{suffix}", photo if isinstance(photo, File) else File(photo), save=False)
    evidence.save()
    return evidence


def _lock(actor, claim_id):
    return lock(selectors.claim_list(actor), claim_id, what=_("Claim"))


@transaction.atomic
def evidence_add(*, claim_id, actor, photo):
    require(actor, "claims.add_claim")
    claim = _lock(actor, claim_id)
    if not claim.is_open:
        raise invalid_state(claim.get_state_display())
    detected, problems = rules.image_problems(photo)
    if problems:
        refuse(problems, status=400)
    evidence = _store(claim, actor, photo, detected, timezone.now())
    timeline.record(claim, actor=actor, transition="add_evidence", reason=evidence.original_name)
    return evidence


@transaction.atomic
def claim_propose(*, claim_id, actor, amount, note=""):
    """Either side puts an amount on the table; the other side accepts it (R25: negotiate first)."""
    claim = _lock(actor, claim_id)
    if problems := rules.amount_problems(amount, goods_value=claim.goods_value, cap=claim.platform.claim_cap):
        refuse(problems, status=400)
    take(
        claim,
        "propose",
        actor=actor,
        reason=note or _("%(a)s yuan") % {"a": parse_amount(amount)},
        amount=parse_amount(amount),
        side=side_of(actor),
    )
    notify.claim_proposed(claim)
    return claim


@transaction.atomic
def claim_accept(*, claim_id, actor, note=""):
    """The side that did not make the offer accepts it: agreed at that amount."""
    claim = _lock(actor, claim_id)
    if claim.offer_side == side_of(actor):
        raise DomainError(
            "own_offer",
            _("The offer of %(a)s yuan is your own side's: the other side accepts it.") % {"a": claim.offer_amount},
        )
    take(claim, "accept", actor=actor, reason=note or _("%(a)s yuan") % {"a": claim.offer_amount})
    return claim


@transaction.atomic
def claim_escalate(*, claim_id, actor, reason, now=None):
    """Without agreement, to platform arbitration: only from day 7 to day 30 after the success (R25)."""
    now = now or timezone.now()
    claim = _lock(actor, claim_id)
    if can_proceed(claim.escalate) and (problems := rules.escalation_problems(claim.succeeded_at, claim.platform, now)):
        refuse(problems)
    take(claim, "escalate", actor=actor, at=now, reason=reason, reason_for=_("escalate a claim"))
    return claim


@transaction.atomic
def claim_award(*, claim_id, actor, amount, note=""):
    claim = _lock(actor, claim_id)
    if problems := rules.amount_problems(amount, goods_value=claim.goods_value, cap=claim.platform.claim_cap):
        refuse(problems, status=400)
    take(
        claim,
        "award",
        actor=actor,
        reason=note or _("%(a)s yuan") % {"a": parse_amount(amount)},
        amount=parse_amount(amount),
    )
    notify.claim_awarded(claim)
    return claim


@transaction.atomic
def claim_dismiss(*, claim_id, actor, reason):
    claim = _lock(actor, claim_id)
    take(claim, "dismiss", actor=actor, reason=reason, reason_for=_("record a dismissal"))
    return claim


@transaction.atomic
def claim_pay(*, claim_id, actor, payment_reference, paid_at):
    """Finance records the offline payment of the agreed or awarded amount (R26)."""
    claim = _lock(actor, claim_id)
    if problems := payment_record_problems(reference=payment_reference, paid_at=paid_at):
        refuse(problems, status=400)
    take(
        claim,
        "pay",
        actor=actor,
        reason=payment_reference.strip(),
        payment_reference=payment_reference.strip(),
        paid_at=paid_at,
    )
    return claim


@transaction.atomic
def claim_withdraw(*, claim_id, actor, reason):
    claim = _lock(actor, claim_id)
    take(claim, "withdraw", actor=actor, reason=reason, reason_for=_("withdraw a claim"))
    return claim


@transaction.atomic
def claim_note(*, claim_id, actor, note):
    """A note on the timeline from whoever may see the claim (outlet staff included)."""
    claim = _lock(actor, claim_id)
    if not (note or "").strip():
        raise DomainError("note_required", _("The note is empty."), status=400)
    timeline.record(
        claim, actor=actor, transition="note", from_state=claim.state, to_state=claim.state, reason=note.strip()
    )
    return claim


def candidates_open(*, actor, interception_ids, now=None):
    """The candidates action: a loss claim per interception, goods from the parcel, amount capped (R26)."""
    outcomes = []
    for interception_id in interception_ids:
        try:
            outcomes.append(
                (
                    interception_id,
                    claim_file(
                        actor=actor,
                        interception_id=interception_id,
                        kind="loss",
                        description=_("no return scan: presumed lost"),
                        now=now,
                    ),
                )
            )
        except DomainError as exc:
            outcomes.append((interception_id, exc))
    return outcomes


def claim_candidates(actor, now=None):
    """Succeeded interceptions without a return scan after the platform's N days and without an open claim."""
    now = now or timezone.now()
    overdue = Q()
    for platform in Platform.objects.all():
        overdue |= Q(platform=platform, result_at__lte=now - timedelta(days=platform.claim_candidate_days))
    if not overdue:
        return InterceptionOrder.objects.none()
    return (
        interception_selectors.interception_list(actor)
        .filter(state=InterceptionOrder.State.SUCCEEDED, return_scan_at__isnull=True)
        .filter(overdue)
        .filter(~Exists(Claim.objects.filter(interception=OuterRef("pk"), state__in=Claim.OPEN_STATES)))
        .order_by("result_at")
    )
