"""Pure checks of the interception domain: each failure is a Problem with a stable code.

Nothing here writes. Services, the admin (to show why a button is missing),
imports and the API all ask these functions.
"""
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from portal.errors import Problem


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


def contract_application_problems(*, merchant, outlet, platform, mode, fee, terms, has_ewaybill, has_live_contract):
    """Why a merchant cannot apply for a contract with this outlet (R1, R2, uniqueness, fee)."""
    problems = []
    if merchant.platform_id != platform.pk:
        problems.append(Problem("wrong_platform", _("The merchant's shop is on %(p)s, not %(q)s.")
                                % {"p": merchant.platform, "q": platform}, "platform"))
    if terms is None or not terms.interception_offered:
        problems.append(Problem("carrier_not_offered", _("%(p)s does not offer interception with %(c)s.")
                                % {"p": platform, "c": outlet.carrier}, "carrier"))
    elif not terms.offers(mode):
        problems.append(Problem("mode_not_offered", _("%(p)s does not offer %(m)s with %(c)s.")
                                % {"p": platform, "m": _mode_label(mode), "c": outlet.carrier}, "mode"))
    if not has_ewaybill:
        problems.append(Problem("no_ewaybill", _("The merchant has no active e-waybill account with outlet %(o)s "
                                                 "on %(p)s (R1).") % {"o": outlet, "p": platform}, "outlets"))
    if has_live_contract:
        problems.append(Problem("contract_exists", _("A pending or active contract with outlet %(o)s exists already.")
                                % {"o": outlet}, "outlets"))
    problems.extend(fee_problems(fee))
    return problems


def reason_problems(reason, *, what):
    if not (reason or "").strip():
        return [Problem("reason_required", _("A reason is required to %(what)s.") % {"what": what}, "reason")]
    return []


def _mode_label(mode):
    from interception.models import SettlementMode

    return SettlementMode(mode).label
