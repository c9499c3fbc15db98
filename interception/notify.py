"""What the interception app tells people and merchants' systems (docs/notifications.md), one function per
event, each called in the transaction of the action: the outbox rows commit or roll back with it.

The services call these in one line; the interception results arrive through `signals.result_recorded`
(connected in apps.py), so the result service is untouched.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from interception.models import CarrierResult
from notifications import enqueue, enqueue_webhook, in_portal_language
from notifications.models import Audience

RESULT_EVENTS = {
    CarrierResult.SUCCEEDED: "interception.succeeded",
    CarrierResult.FAILED: "interception.failed",
    CarrierResult.RETURNING: "interception.return_scanned",
    CarrierResult.RETURNED: "interception.returned",
    CarrierResult.LOST: "interception.return_failed",
    CarrierResult.DAMAGED: "interception.return_failed",
}


def admin_link(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def interception_data(order):
    """What a merchant's webhook learns of an interception: its own order, never another merchant's data."""
    return {
        "interception_id": order.pk,
        "tracking_number": order.tracking_number,
        "after_sale_id": order.after_sale_id,
        "state": order.state,
        "mode": order.mode,
        "carrier": order.carrier.code,
        "result_at": getattr(order, "result_at", None),
        "failure_code": order.failure_code,
        "failure_text": order.failure_text,
    }


@in_portal_language
def interception_started(order):
    enqueue_webhook(event="interception.started", merchant_id=order.merchant_id, data=interception_data(order))


@in_portal_language
def on_result(sender, *, order, result, **kwargs):
    """A result was recorded (callback, query or staff): merchants' webhooks; a failure to customer service."""
    enqueue_webhook(event=RESULT_EVENTS[result], merchant_id=order.merchant_id, data=interception_data(order))
    if result == CarrierResult.FAILED:
        enqueue(
            event="interception.failed",
            audience=Audience.CUSTOMER_SERVICE,
            title=_("Interception failed: decide before the handling window ends"),
            line=_("%(tn)s · %(reason)s") % {"tn": order.tracking_number, "reason": order.failure_text or "—"},
            link=admin_link(order),
            subject=order,
        )


@in_portal_language
def application_waiting(contract):
    """A merchant applied: the outlet's groups are told (grouped when several wait at once)."""
    enqueue(
        event="contract.applied",
        audience=Audience.OUTLET,
        outlet_id=contract.outlet_id,
        title=_("New interception applications to decide"),
        line=_("%(merchant)s · %(platform)s · fee %(fee)s")
        % {
            "merchant": contract.merchant,
            "platform": contract.platform,
            "fee": contract.fee,
        },
        link=admin_link(contract),
        subject=contract,
    )


@in_portal_language
def fee_change_waiting(amendment):
    contract = amendment.contract
    enqueue(
        event="contract.fee_change",
        audience=Audience.OUTLET,
        outlet_id=contract.outlet_id,
        title=_("Fee changes to decide"),
        line=_("%(merchant)s · %(old)s → %(new)s")
        % {
            "merchant": contract.merchant,
            "old": amendment.old_fee,
            "new": amendment.new_fee,
        },
        link=admin_link(contract),
        subject=amendment,
    )


@in_portal_language
def application_nudged(contract):
    enqueue(
        event="contract.nudge",
        audience=Audience.OUTLET,
        outlet_id=contract.outlet_id,
        title=_("Reminder: merchants are waiting for your decision"),
        line=_("%(merchant)s · %(platform)s · applied %(at)s")
        % {
            "merchant": contract.merchant,
            "platform": contract.platform,
            "at": contract.applied_at.strftime("%Y-%m-%d") if contract.applied_at else "—",
        },
        link=admin_link(contract),
        subject=contract,
    )
