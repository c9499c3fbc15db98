"""The after-sale's outcome while its parcel is intercepted: agree, refuse (R16), ask the platform (R17)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import rules, selectors
from kernel.errors import refuse
from kernel.transitions import lock, take


def _refuse_problems(after_sale, now):
    """R16 holds while intercepting; under platform intervention the platform has ruled."""
    if not after_sale.intercepting:
        return []
    return rules.refuse_problems(
        platform=after_sale.platform,
        started_at=after_sale.intercepting_since,
        interceptions=list(after_sale.interceptions.all()),
        now=now,
    )


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
