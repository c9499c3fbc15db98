"""The sandbox carrier's side of the wire: it sends the callbacks its plans have made due, signed, to our receiver.

Apart from the adapter (interception/carriers/sandbox.py), which only answers our calls: playing the carrier
means calling the service that receives callbacks, and the services call the adapters.
"""

from django.conf import settings
from django.utils import timezone

from interception.carriers import sign
from interception.carriers.sandbox import due_messages
from interception.models import InterceptionOrder
from interception.services import carrier_event_receive


def tick(now=None, limit=500):
    """Send every due sandbox callback; returns how many were sent."""
    now = now or timezone.now()
    orders = (
        InterceptionOrder.objects.select_related("carrier")
        .filter(carrier_ref__startswith="SBX")  # the sandbox answers only for what it accepted
        .filter(
            carrier__adapter__in=["sandbox"] + ([""] if settings.CARRIER_ADAPTER == "sandbox" else []),
            state__in=[
                InterceptionOrder.State.INTERCEPTING,
                InterceptionOrder.State.SUCCEEDED,
                InterceptionOrder.State.RETURNING,
            ],
        )
        .order_by("id")[:limit]
    )
    sent = 0
    for order in orders:
        for body in due_messages(order, now):
            carrier_event_receive(
                carrier_code=order.carrier.code,
                body=body,
                signature=sign(order.carrier.callback_secret, body, now.timestamp()),
                now=now,
            )
            sent += 1
    return sent
