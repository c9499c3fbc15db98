"""Tracking subscriptions at the carriers' services (kuaidi100): a parcel whose carrier's adapter pushes tracking
is subscribed when it arrives (parcel_create marks it due), and again when the service aborted it.

How the service's rate holds (KUAIDI100_SUBSCRIBE_RATE, 20 a second) with several runners: the subscribing step
of a pass takes a PostgreSQL advisory lock (pg_try_advisory_lock), so one runner process subscribes at a time;
the others skip the step on that pass. The runner holding it sends at most `rate` requests in any second (Pacer)
and, before letting go, waits until its last request is a second old, so the next holder starts on a clear second.
A pass subscribes at most `rate` × SUBSCRIBE_SECONDS parcels, so the rest of the runner's work is not held up.
(SQLite, the single-process demo, has no advisory locks: the step runs unguarded there.)

How the monthly cap holds (4 a number at kuaidi100, adapter.subscription_limit): before asking, the calls of the
last 30 days that reached the service are counted in the call log (carriercall_tracking_idx); at the cap, the
parcel stays due until the oldest of them is 30 days old.
"""

import time
from collections import deque
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from interception import carriers
from interception.carriers.http import ServiceClient
from interception.models import CarrierCall, Parcel, Subscription

SUBSCRIBE_RETRY = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]
SUBSCRIBE_SECONDS = 10  # of sending per pass, at most
ADVISORY_LOCK = 0x6B313030  # "k100": one subscribing runner at a time


class Pacer:
    """At most `rate` calls in any second: before a call, wait until the call `rate` calls back is a second old."""

    def __init__(self, rate, *, clock=time.monotonic, sleep=time.sleep):
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.sent = deque(maxlen=rate)

    def wait(self):
        if len(self.sent) == self.rate:
            delay = 1.0 - (self.clock() - self.sent[0])
            if delay > 0:
                self.sleep(delay)
        self.sent.append(self.clock())

    def drain(self):
        """Wait until the last call is a second old (the next runner then has a whole second to itself)."""
        if self.sent:
            delay = 1.0 - (self.clock() - self.sent[-1])
            if delay > 0:
                self.sleep(delay)


@contextmanager
def _exclusive():
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK])


def subscriptions_process(*, now, limit=None, clock=time.monotonic, sleep=time.sleep):
    """Subscribe the parcels that are due; the number asked about (0 when another runner has the step)."""
    rate = settings.KUAIDI100_SUBSCRIBE_RATE
    limit = limit if limit is not None else rate * SUBSCRIBE_SECONDS
    asked = 0
    with _exclusive() as mine:
        if not mine:
            return 0
        pacer = Pacer(rate, clock=clock, sleep=sleep)
        try:
            while asked < limit:
                with transaction.atomic():
                    parcel = (
                        Parcel.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("carrier")
                        .filter(subscription=Subscription.DUE, resubscribe_at__lte=now)
                        .order_by("resubscribe_at", "id")
                        .first()
                    )
                    if parcel is None:
                        break
                    parcel_subscribe(parcel=parcel, now=now, pacer=pacer)
                asked += 1
        finally:
            pacer.drain()
    return asked


def parcel_subscribe(*, parcel, now, pacer=None):
    """Ask the parcel's carrier's service to push its tracking (the parcel locked by the caller): subscribed
    (or subscribed already), refused for good (its message in the call log), or due again later."""
    try:
        adapter = carriers.adapter_for(parcel.carrier)
    except carriers.CarrierRefused:
        adapter = None
    if adapter is None or not adapter.capabilities.tracking:  # the carrier moved to a service without tracking
        _set(parcel, Subscription.NONE, None)
        return parcel
    if (until := _capped_until(adapter, parcel, now)) is not None:
        _set(parcel, Subscription.DUE, until)
        return parcel
    if pacer is not None:
        pacer.wait()
    try:
        adapter.subscribe(parcel, ServiceClient(parcel.carrier, parcel=parcel))
    except carriers.CarrierRefused:
        _set(parcel, Subscription.REFUSED, None)
    except carriers.CarrierUnavailable:
        _set(parcel, Subscription.DUE, now + SUBSCRIBE_RETRY[min(_retries(parcel), len(SUBSCRIBE_RETRY)) - 1])
    else:
        _set(parcel, Subscription.SUBSCRIBED, None)
    return parcel


def _set(parcel, subscription, at):
    parcel.subscription, parcel.resubscribe_at = subscription, at
    parcel.save(update_fields=["subscription", "resubscribe_at"])


def _capped_until(adapter, parcel, now):
    """When the service takes this number again, if it has had its limit of subscriptions; else None."""
    if adapter.subscription_limit is None:
        return None
    count, period = adapter.subscription_limit
    reached = list(
        CarrierCall.objects.filter(
            tracking_number=parcel.tracking_number,
            operation=CarrierCall.Operation.SUBSCRIBE,
            at__gt=now - period,
            carrier=parcel.carrier_id,
            http_status__isnull=False,  # it reached the service
        )
        .order_by("-at")
        .values_list("at", flat=True)[:count]
    )
    return reached[-1] + period if len(reached) >= count else None


def _retries(parcel):
    """Subscription attempts in a row that found the service busy or unreachable (this one included)."""
    outcomes = CarrierCall.objects.filter(parcel=parcel, operation=CarrierCall.Operation.SUBSCRIBE).order_by("-id")
    retries = 0
    for outcome in outcomes.values_list("outcome", flat=True)[: len(SUBSCRIBE_RETRY)]:
        if outcome != CarrierCall.Outcome.RETRY:
            break
        retries += 1
    return max(retries, 1)
