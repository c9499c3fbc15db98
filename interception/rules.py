"""Pure checks of the interception domain: each failure is a Problem with a stable code.

Nothing here writes. Services, the admin (to show why a button is missing),
imports and the API all ask these functions.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception.models import (
    AfterSale,
    Contract,
    FeeAmendment,
    GoodsCategory,
    InterceptionMode,
    InterceptionOrder,
    Merchant,
    SettlementMode,
)
from kernel import inputs
from kernel.errors import Problem

# The new address of a reroute (改址): its parts and the columns that hold them.
NEW_ADDRESS_FIELDS = {"name": "recipient_name", "phone": "recipient_phone", "address": "recipient_address"}


def fee_problems(fee, field="fee"):
    """A fee is a non-negative amount of yuan with at most 2 decimals."""
    try:
        value = Decimal(str(fee)) if not isinstance(fee, Decimal) else fee
    except (InvalidOperation, ValueError, TypeError):
        return [Problem("fee_invalid", _("The fee is not a number."), field)]
    if not value.is_finite():
        return [Problem("fee_invalid", _("The fee is not a number."), field)]
    problems = []
    if value < 0:
        problems.append(Problem("fee_negative", _("The fee cannot be negative."), field))
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        problems.append(Problem("fee_precision", _("The fee has more than 2 decimals."), field))
    if value >= Decimal("10000000000"):
        problems.append(Problem("fee_invalid", _("The fee is too large."), field))
    return problems


def application_fee_problems(mode, fee):
    """Offline settlement is the fee negotiated with the outlet: an application must name it (online takes the
    platform's)."""
    if mode == SettlementMode.OFFLINE and fee in (None, ""):
        return [Problem("fee_required", _("Offline settlement needs the negotiated fee."), "fee")]
    return []


MODE_FEES = ("fee_return_outlet", "fee_reroute")


def mode_fee_problems(mode, mode_fees):
    """A fee of its own for an interception mode is negotiated like the fee: offline only, a valid amount."""
    problems = []
    for name, value in mode_fees.items():
        if name not in MODE_FEES:
            problems.append(Problem("fee_invalid", _("Unknown fee %(f)s.") % {"f": name}, name))
        elif mode != SettlementMode.OFFLINE:
            problems.append(
                Problem(
                    "fee_fixed_online", _("Online settlement uses the platform's fee; it cannot be negotiated."), name
                )
            )
        else:
            problems += fee_problems(value, name)
    return problems


def fee_includes_return(mode, requested):
    """Whether a contract's fee covers shipping the parcel back: the platform's online fee always does (R19),
    an offline fee as the merchant and the outlet agreed."""
    return True if mode == SettlementMode.ONLINE else bool(requested)


def opens_by_default(*, terms, has_ewaybill, had_contract):
    """Whether an interception at this outlet opens the merchant's contract there (R3: Kuaishou opens every
    cooperating YTO outlet by default): the terms say so and give the fee, and the merchant has the outlet's
    e-waybill account (R1). Only where no contract was ever made: a closed one was the merchant's decision and
    a rejected one the outlet's, and re-applying is the way back (R4)."""
    return bool(
        terms is not None
        and terms.interception_offered
        and terms.open_by_default
        and terms.default_mode is not None
        and has_ewaybill
        and not had_contract
    )


def fee_change_problems(contract):
    """A fee change (R6) is asked for on an active contract with a negotiated (offline) fee."""
    if contract.state != Contract.State.ACTIVE:
        return [
            Problem(
                "invalid_state",
                _("Only an active contract's fee can change; it is %(s)s.") % {"s": contract.get_state_display()},
            )
        ]
    if contract.settlement_mode == SettlementMode.ONLINE:
        return [Problem("fee_fixed_online", _("Online settlement uses the platform's fee; it cannot be negotiated."))]
    return []


def contract_application_problems(*, merchant, outlet, platform, mode, fee, terms, has_ewaybill, has_live_contract):
    """Why a merchant cannot apply for a contract with this outlet (R1, R2, uniqueness, fee)."""
    problems = []
    if merchant.platform_id != platform.pk:
        problems.append(
            Problem(
                "wrong_platform",
                _("The merchant's shop is on %(p)s, not %(q)s.") % {"p": merchant.platform, "q": platform},
                "platform",
            )
        )
    if terms is None or not terms.interception_offered:
        problems.append(
            Problem(
                "carrier_not_offered",
                _("%(p)s does not offer interception with %(c)s.") % {"p": platform, "c": outlet.carrier},
                "carrier",
            )
        )
    elif not terms.offers(mode):
        problems.append(
            Problem(
                "mode_not_offered",
                _("%(p)s does not offer %(m)s with %(c)s.")
                % {"p": platform, "m": _mode_label(mode), "c": outlet.carrier},
                "mode",
            )
        )
    if not has_ewaybill:
        problems.append(
            Problem(
                "no_ewaybill",
                _("The merchant has no active e-waybill account with outlet %(o)s on %(p)s.")
                % {"o": outlet, "p": platform},
                "outlets",
            )
        )
    if has_live_contract:
        problems.append(
            Problem(
                "contract_exists",
                _("A pending or active contract with outlet %(o)s exists already.") % {"o": outlet},
                "outlets",
            )
        )
    problems.extend(fee_problems(fee))
    return problems


def named_parcels_problems(parcel, others):
    """The parcels an after-sale names are parcels of one order: the same merchant, platform and order number,
    each once, no more than the order has."""
    problems, seen = [], {parcel.pk}
    for other in others:
        if other.pk in seen:
            problems.append(
                Problem(
                    "parcel_repeated",
                    _("Parcel %(t)s is named twice.") % {"t": other.tracking_number},
                    "tracking_numbers",
                )
            )
        elif (other.merchant_id, other.platform_id, other.order_number) != (
            parcel.merchant_id,
            parcel.platform_id,
            parcel.order_number,
        ):
            problems.append(
                Problem(
                    "parcel_not_in_order",
                    _("Parcel %(t)s is not a parcel of order %(o)s.")
                    % {"t": other.tracking_number, "o": parcel.order_number},
                    "tracking_numbers",
                )
            )
        seen.add(other.pk)
    if len(seen) > parcel.parcels_in_order:
        problems.append(
            Problem(
                "too_many_parcels",
                _("Order %(o)s was shipped in %(n)s parcel(s); the after-sale names %(m)s.")
                % {"o": parcel.order_number, "n": parcel.parcels_in_order, "m": len(seen)},
                "tracking_numbers",
            )
        )
    return problems


def _mode_label(mode):
    return SettlementMode(mode).label


# ---------------------------------------------------------------------------------------------------------------------
# Interception eligibility (R7-R11) and the after-sale windows (R15, R16, R18)

BLOCKING_STATUSES = {
    # status: (code, message)
    "no_tracking": ("no_tracking", _("The parcel has no tracking at all yet: it has not shipped.")),
    "out_for_delivery": ("out_for_delivery", _("The parcel is out for delivery.")),
    "signed": ("signed", _("The parcel has been signed for.")),
    "awaiting_pickup": ("awaiting_pickup", _("The parcel awaits pickup at a station or locker.")),
    "stagnant": ("stagnant", _("The parcel has had no tracking event for more than 3 days.")),
    "return_address_unserved": (
        "return_address_unserved",
        _("The carrier does not deliver to the return address."),
    ),
    "returning": ("parcel_returning", _("The parcel is already on its way back to the sender.")),
    "returned": ("parcel_returned", _("The parcel is already back with the sender.")),
}


def interception_problems(
    *,
    after_sale,
    parcel,
    logistics_status,
    merchant,
    platform,
    terms,
    contract,
    has_ewaybill,
    agreement_signed,
    goods_categories,
    live_interception,
):
    """Every reason this after-sale's parcel cannot be intercepted now (R5, R7-R11); empty when eligible.

    Pure: the caller loads the facts. `terms` is the platform × carrier configuration (None when absent),
    `contract` the merchant's active contract with the parcel's outlet (None when absent).
    """
    problems = []
    if after_sale.kind != AfterSale.Kind.REFUND_ONLY:
        problems.append(Problem("not_refund_only", _("Only refund-only after-sales are intercepted."), "kind"))
    # An after-sale that is intercepting this very parcel is not closed: the interception is the reason.
    intercepting_it = after_sale.state == AfterSale.State.INTERCEPTING and live_interception is not None
    if after_sale.state != AfterSale.State.OPEN and not intercepting_it:
        problems.append(
            Problem(
                "after_sale_closed",
                _("The after-sale is %(s)s, not open.") % {"s": after_sale.get_state_display()},
                "state",
            )
        )
    if logistics_status in BLOCKING_STATUSES:
        code, message = BLOCKING_STATUSES[logistics_status]
        problems.append(Problem(code, message, "parcel"))
    if merchant.cross_border:
        problems.append(Problem("cross_border_merchant", _("Cross-border merchants cannot intercept."), "merchant"))
    if merchant.operating_status != Merchant.Status.OPERATING:
        problems.append(
            Problem(
                "merchant_not_operating",
                _("The merchant is %(s)s, not operating normally.") % {"s": merchant.get_operating_status_display()},
                "merchant",
            )
        )
    if terms is None or not terms.interception_offered:
        problems.append(
            Problem(
                "carrier_not_offered",
                _("%(p)s does not offer interception with %(c)s.") % {"p": platform, "c": parcel.carrier},
                "carrier",
            )
        )
    if not has_ewaybill:
        problems.append(
            Problem(
                "no_ewaybill",
                _("The merchant has no active e-waybill account with outlet %(o)s.") % {"o": parcel.outlet},
                "outlet",
            )
        )
    if contract is None:
        problems.append(
            Problem(
                "no_active_contract",
                _("The merchant has no active contract with outlet %(o)s.") % {"o": parcel.outlet},
                "outlet",
            )
        )
    if not agreement_signed:
        problems.append(
            Problem(
                "agreement_not_signed",
                _("The merchant has not signed the interception agreement on %(p)s.") % {"p": platform},
                "merchant",
            )
        )
    if platform.refund_cap_applies and after_sale.amount >= platform.refund_cap:
        problems.append(
            Problem(
                "refund_over_cap",
                _("%(p)s intercepts only refunds below %(cap)s yuan; this one is %(a)s.")
                % {"p": platform, "cap": platform.refund_cap, "a": after_sale.amount},
                "amount",
            )
        )
    blocked = sorted(set(goods_categories) & set(platform.blocked_categories or []))
    if blocked:
        problems.append(
            Problem(
                "goods_category_blocked",
                _("%(p)s does not intercept %(c)s.")
                % {"p": platform, "c": ", ".join(_category_label(c) for c in blocked)},
                "goods",
            )
        )
    if not platform.multi_parcel_allowed and parcel.parcels_in_order > 1:
        problems.append(
            Problem(
                "multi_parcel_order",
                _("%(p)s does not intercept orders shipped in several parcels.") % {"p": platform},
                "parcel",
            )
        )
    if live_interception is not None:
        problems.append(
            Problem(
                "interception_exists",
                _(
                    "Interception #%(n)s of this parcel is %(s)s; a parcel is "
                    "intercepted at most once and it cannot be cancelled."
                )
                % {"n": live_interception.pk, "s": live_interception.get_state_display()},
                "parcel",
            )
        )
    return problems


def handling_window_end(platform, started_at):
    """When the merchant's handling window ends (R15, R18); None when the platform sets none."""
    if not platform.handling_window_days:
        return None
    return _local(started_at) + timedelta(days=platform.handling_window_days)


def refuse_problems(*, platform, started_at, interceptions, now):
    """Refusing the refund needs a failed interception or N days without a result (R16, R18). `interceptions`
    are the after-sale's: with several parcels, one failed interception is enough, as is one still without a
    result after N days."""
    states = [i.state for i in interceptions]
    if InterceptionOrder.State.FAILED in states:
        return []
    no_result = not states or any(s in InterceptionOrder.IN_FLIGHT for s in states)
    allowed_from = _local(started_at) + timedelta(days=platform.refuse_after_days) if started_at else None
    if no_result and allowed_from is not None and now >= allowed_from:
        return []
    if not no_result:
        return [Problem("interception_succeeded", _("The interception succeeded: the buyer is refunded."))]
    return [
        Problem(
            "refuse_too_early",
            _("A refund can be refused only when the interception failed, or from %(t)s when it has no result by then.")
            % {"t": _format(allowed_from)},
        )
    ]


def refund_due_on_success(states):
    """The buyer is refunded automatically when every parcel the after-sale intercepts has been intercepted
    (R14); one that failed leaves the decision to the merchant within the handling window (R15)."""
    return bool(states) and all(s in InterceptionOrder.SUCCESS_STATES for s in states)


def _local(at):
    return timezone.localtime(at)


def _format(at):
    return formats.date_format(_local(at), "DATETIME_FORMAT") if at else "—"


def _category_label(code):
    return str(GoodsCategory(code).label)


# A decision taken before shows in the state it led to (a closed contract was approved once).
DECIDED_STATES = {
    "approve": {Contract.State.ACTIVE, Contract.State.CLOSED, FeeAmendment.State.APPROVED},
    "reject": {Contract.State.REJECTED, FeeAmendment.State.REJECTED},
}


def decision_effect(model, state, decision):
    """What the decision file's `decision` ("approve" or "reject", the transitions' names) does to a row of
    `model` (Contract or FeeAmendment) in `state`: "apply", "unchanged" (decided so already) or None (it was
    decided otherwise)."""
    if can_proceed(getattr(model(state=state), decision)):
        return "apply"
    return "unchanged" if state in DECIDED_STATES[decision] else None


def mode_problems(mode, new_address, *, supported, carrier):
    """Whether the interception can go `mode` with this carrier's service, and the new address a reroute needs
    (recipient, phone, address) and only a reroute takes. Each problem names its field."""
    if mode not in InterceptionMode.values:
        return [Problem("mode_invalid", _("Unknown interception mode %(m)s.") % {"m": mode}, "mode")]
    label = InterceptionMode(mode).label
    if mode not in supported:
        return [
            Problem(
                "mode_not_supported",
                _("%(c)s cannot send an intercepted parcel %(m)s.") % {"c": carrier, "m": label},
                "mode",
            )
        ]
    new_address = new_address or {}
    if mode != InterceptionMode.REROUTE:
        if any(new_address.values()):
            return [Problem("new_address_unexpected", _("Only a reroute takes a new address."), "new_address")]
        return []
    problems = []
    for part, column in NEW_ADDRESS_FIELDS.items():
        value, name, field = new_address.get(part), f"new_address.{part}", InterceptionOrder._meta.get_field(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem("required", _("A reroute needs the %(p)s.") % {"p": field.verbose_name}, name))
        else:
            problems += inputs.text_problems(value, name, column=field)
    phone = new_address.get("phone")
    if isinstance(phone, str) and phone.strip() and not _looks_like_phone(phone):
        problems.append(
            Problem("phone_invalid", _("The new recipient's phone is not a phone number."), "new_address.phone")
        )
    return problems


def _looks_like_phone(text):
    return set(text) <= set("0123456789+- ") and 7 <= sum(ch.isdigit() for ch in text) <= 15
