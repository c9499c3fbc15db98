"""Customer service reminds an outlet of an application it has not decided (at most once per NUDGE_HOURS)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception import notify, selectors
from kernel import timeline
from kernel.errors import DomainError
from kernel.transitions import lock, require

NUDGE = "nudge"
timeline.register_transitions({NUDGE: _("outlet reminded")})


def contract_nudge_allowed(contract, user):
    """For the admin: is the button shown? (pending, and the user applies for merchants)."""
    return can_proceed(contract.approve) and user.has_perm("interception.apply_contract")


@transaction.atomic
def contract_nudge(*, contract_id, actor, now=None):
    """Tell the outlet's groups that an application waits for them; recorded on the application's timeline."""
    require(actor, "interception.apply_contract")
    now = now or timezone.now()
    contract = lock(selectors.contract_list(actor), contract_id, what=_("Contract"))
    if not can_proceed(contract.approve):
        raise DomainError("not_pending", _("Only an application waiting for the outlet can be reminded."))
    since = now - timedelta(hours=settings.NUDGE_HOURS)
    last = timeline.entries_for(contract).filter(transition=NUDGE, at__gt=since).order_by("-at").first()
    if last is not None:
        raise DomainError(
            "nudged_recently",
            _("The outlet was reminded at %(at)s; remind it again after %(h)s hours.")
            % {"at": timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M"), "h": f"{settings.NUDGE_HOURS:g}"},
            status=429,
        )
    timeline.record(contract, actor=actor, transition=NUDGE, at=now)
    notify.application_nudged(contract)
    return contract
