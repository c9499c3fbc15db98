"""What is due by time: ended handling windows (R15), submissions to retry, silent carriers to ask, parcels to
subscribe at their carrier's tracking service."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import carriers, signals
from interception.carriers.http import ServiceClient
from interception.models import (
    AfterSale,
    CarrierCall,
    InterceptionOrder,
)
from interception.services.alerts import carrier_failures_alert, digests_send, windows_warn
from interception.services.callbacks import receive_message
from interception.services.starting import interception_submit
from interception.services.subscriptions import subscriptions_process
from kernel import timeline
from kernel.errors import DomainError
from kernel.transitions import take

REFUNDED_WINDOW_ENDED = _("handling window ended without a decision: refunded automatically")  # R15


@dataclass
class DeadlineReport:
    refunded: int = 0
    submitted: int = 0
    polled: int = 0
    answered: int = 0
    pruned: int = 0
    subscribed: int = 0
    warned: int = 0  # after-sales whose window ends soon, told to customer service
    digests: int = 0
    alerts: int = 0
    others: int = 0  # the steps of the apps above (signals.deadlines_due)


def deadlines_process(*, now=None, batch=200):
    """One pass over everything that is due; safe to run in several processes at once (SKIP LOCKED)."""
    now = now or timezone.now()
    report = DeadlineReport()
    while True:
        with transaction.atomic():
            due = list(
                AfterSale.objects.select_for_update(skip_locked=True)
                .filter(state=AfterSale.State.INTERCEPTING, window_ends_at__lte=now)
                .order_by("window_ends_at")[:batch]
            )
            for after_sale in due:
                take(after_sale, "refund", actor=None, reason=REFUNDED_WINDOW_ENDED, at=now)
            report.refunded += len(due)
        if len(due) < batch:
            break
    retry = list(
        InterceptionOrder.objects.filter(state=InterceptionOrder.State.REQUESTED, next_submit_at__lte=now)
        .order_by("next_submit_at")
        .values_list("pk", flat=True)[: batch * 5]
    )
    for order_id in retry:
        if interception_submit(order_id=order_id, now=now) is not None:
            report.submitted += 1
    for order_id in _poll_claims(now, batch):
        report.polled += 1
        report.answered += interception_poll(order_id=order_id, now=now) is not None
    report.pruned = carrier_calls_prune(now=now)
    report.subscribed = subscriptions_process(now=now)
    report.warned = windows_warn(now=now, batch=batch)
    report.digests = digests_send(now=now)
    report.alerts = carrier_failures_alert(now=now)
    report.others = sum(done or 0 for _receiver, done in signals.deadlines_due.send(sender=None, now=now))
    return report


def carrier_calls_prune(*, now=None, batch=5000):
    """Forget the calls to carriers' services older than CARRIER_LOG_DAYS, a batch at a time (short locks)."""
    now = now or timezone.now()
    cutoff, pruned = now - timedelta(days=settings.CARRIER_LOG_DAYS), 0
    while True:
        ids = list(CarrierCall.objects.filter(at__lt=cutoff).order_by("at").values_list("pk", flat=True)[:batch])
        if not ids:
            return pruned
        pruned += CarrierCall.objects.filter(pk__in=ids).delete()[0]


def _poll_claims(now, batch):
    """Claim the in-flight interceptions whose carrier has been silent for CARRIER_POLL_HOURS.

    Each claim is one conditional UPDATE, so two runners never ask about the same order in one round.
    """
    cutoff = now - timedelta(hours=settings.CARRIER_POLL_HOURS)
    silent = InterceptionOrder.objects.filter(
        state=InterceptionOrder.State.INTERCEPTING, submitted_at__lte=cutoff
    ).filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=cutoff))
    for order_id in list(silent.order_by("submitted_at").values_list("pk", flat=True)[: batch * 5]):
        if silent.filter(pk=order_id).update(last_polled_at=now):
            yield order_id


def interception_poll(*, order_id, now=None):
    """Ask the carrier for an interception's result and apply the answer as if it had called back (R13).

    Returns the receipt, or None when the carrier has no answer yet or cannot be reached (asked again later).
    The answer is stored under the carrier's event id, so the same result arriving later by callback is a duplicate.
    """
    now = now or timezone.now()
    order = InterceptionOrder.objects.select_related("carrier").get(pk=order_id)
    try:
        message = carriers.adapter_for(order.carrier).query(order, ServiceClient(order.carrier, interception=order))
        return (
            None
            if message is None
            else receive_message(order.carrier, message, now, source=InterceptionOrder.Source.POLL)
        )
    except (carriers.CarrierUnavailable, carriers.CarrierRefused, DomainError) as exc:  # no answer, or one we refuse
        timeline.record(order, actor=None, transition="poll_failed", reason=str(getattr(exc, "message", exc)), at=now)
        return None
