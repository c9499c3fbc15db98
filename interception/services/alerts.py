"""What the runner tells people on its own, by time (docs/notifications.md): handling windows about to end
without a decision, the outlets' daily digest, carriers whose submissions keep failing.

Each is a step of `deadlines_process`, safe in several processes at once: the rows are claimed with SKIP LOCKED
where there are rows to claim, and every message carries a dedupe key, so the database keeps one per channel
however many runners and passes write it.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from interception import notify
from interception.models import AfterSale, Carrier, CarrierCall, Contract, FeeAmendment, Outlet
from notifications.models import Audience, Channel, Notification

DIGEST_AGES = (1, 3, 7)  # days waited that the digest counts


def windows_warn(*, now=None, batch=200):
    """Warn customer service of the after-sales whose handling window ends within WINDOW_WARNING_HOURS and that
    nobody has decided yet, once per after-sale (R15: unhandled, the refund is granted when it ends)."""
    now = now or timezone.now()
    if not Channel.objects.filter(active=True, audience=Audience.CUSTOMER_SERVICE).exists():
        return 0  # nobody to tell: a channel added later still hears of the windows that have not ended
    warned = Notification.objects.filter(
        event=notify.WINDOW_ENDING,
        subject_type=ContentType.objects.get_for_model(AfterSale),
        subject_id=OuterRef("pk"),
    )
    horizon = now + timedelta(hours=settings.WINDOW_WARNING_HOURS)
    total, seen = 0, set()
    while True:
        with transaction.atomic():
            due = list(
                AfterSale.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("parcel")
                .filter(state=AfterSale.State.INTERCEPTING, window_ends_at__gt=now, window_ends_at__lte=horizon)
                .exclude(Exists(warned))
                .exclude(pk__in=seen)
                .order_by("window_ends_at")[:batch]
            )
            for after_sale in due:
                notify.window_ending(after_sale, at=now)
                seen.add(after_sale.pk)
        total += len(due)
        if len(due) < batch:
            return total


def digests_send(*, now=None):
    """From DIGEST_HOUR (Asia/Shanghai) on, tell each outlet once a day how many applications and fee changes have
    waited for its decision over 1, 3 and 7 days; an outlet with nothing waiting over a day is not told."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.DIGEST_HOUR:
        return 0
    day = local.date()
    key = f"digest:{day.isoformat()}"
    told = Notification.objects.filter(channel__outlet_id=OuterRef("pk"), dedupe_key=key)
    outlets = list(
        Outlet.objects.filter(
            Exists(Channel.objects.filter(outlet_id=OuterRef("pk"), active=True, audience=Audience.OUTLET))
        )
        .exclude(Exists(told))
        .order_by("pk")
    )
    if not outlets:
        return 0
    ids = [o.pk for o in outlets]
    ages = {age: now - timedelta(days=age) for age in DIGEST_AGES}

    def counted(queryset, outlet_field, at_field):
        rows = queryset.filter(**{f"{outlet_field}__in": ids, f"{at_field}__lte": ages[DIGEST_AGES[0]]})
        rows = rows.values(outlet_field).annotate(
            **{f"over_{age}": Count("pk", filter=Q(**{f"{at_field}__lte": at})) for age, at in ages.items()}
        )
        return {row[outlet_field]: [row[f"over_{age}"] for age in DIGEST_AGES] for row in rows}

    applications = counted(Contract.objects.filter(state=Contract.State.PENDING), "outlet_id", "applied_at")
    fee_changes = counted(
        FeeAmendment.objects.filter(state=FeeAmendment.State.PENDING), "contract__outlet_id", "requested_at"
    )
    sent = 0
    for outlet in outlets:
        waiting = applications.get(outlet.pk), fee_changes.get(outlet.pk)
        if any(waiting):
            sent += bool(notify.daily_digest(outlet, *waiting, day=day, key=key, at=now))
    return sent


def carrier_failures_alert(*, now=None):
    """Tell the supervisors of a carrier whose submissions failed CARRIER_FAILURE_ALERT times or more in the last
    hour (busy, unreachable or refusing), at most once per carrier per clock hour."""
    now = now or timezone.now()
    failing = (
        CarrierCall.objects.filter(operation=CarrierCall.Operation.SUBMIT, at__gt=now - timedelta(hours=1), at__lte=now)
        .exclude(outcome=CarrierCall.Outcome.OK)
        .values("carrier")
        .annotate(failures=Count("pk"))
        .filter(failures__gte=settings.CARRIER_FAILURE_ALERT)
    )
    failures = {row["carrier"]: row["failures"] for row in failing}
    if not failures:
        return 0
    hour = timezone.localtime(now).strftime("%Y-%m-%dT%H")
    sent = 0
    for carrier in Carrier.objects.filter(pk__in=failures).order_by("pk"):
        sent += bool(notify.carrier_failing(carrier, failures[carrier.pk], key=f"carrier:{carrier.pk}:{hour}", at=now))
    return sent
