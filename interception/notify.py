"""What the interception app tells people and merchants' systems (docs/notifications.md), one function per
event, each called in the transaction of the action: the outbox rows commit or roll back with it.

The services call these in one line; the interception results arrive through `signals.result_recorded`
(connected in apps.py), so the result service is untouched.
"""

from django.urls import reverse
from django.utils import timezone
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


WINDOW_ENDING = "aftersale.window_ending"


@in_portal_language
def window_ending(after_sale, *, at):
    """R15's deadline is near and nobody decided: customer service, once per after-sale (the runner's step)."""
    return enqueue(
        event=WINDOW_ENDING,
        audience=Audience.CUSTOMER_SERVICE,
        title=_("Handling windows ending soon without a decision"),
        line=_("%(number)s · %(tn)s · ends %(at)s")
        % {
            "number": after_sale.number,
            "tn": after_sale.parcel.tracking_number,
            "at": timezone.localtime(after_sale.window_ends_at).strftime("%m-%d %H:%M"),
        },
        link=admin_link(after_sale),
        subject=after_sale,
        at=at,
        dedupe_key=f"{WINDOW_ENDING}:{after_sale.pk}",
    )


def _waited(counts):
    over_1, over_3, over_7 = counts
    return _("%(n1)s over 1 day (%(n3)s over 3 days, %(n7)s over 7 days)") % {"n1": over_1, "n3": over_3, "n7": over_7}


@in_portal_language
def daily_digest(outlet, applications, fee_changes, *, day, key, at):
    """What has waited for the outlet's decision (counts over 1, 3 and 7 days), once a day."""
    parts = []
    if applications:
        parts.append(_("applications: %(waited)s") % {"waited": _waited(applications)})
    if fee_changes:
        parts.append(_("fee changes: %(waited)s") % {"waited": _waited(fee_changes)})
    link = (
        reverse("admin:interception_contract_changelist") + "?waiting_days=1"
        if applications
        else reverse("admin:interception_feeamendment_changelist") + "?state__exact=pending"
    )
    return enqueue(
        event="contract.digest",
        audience=Audience.OUTLET,
        outlet_id=outlet.pk,
        title=_("Daily digest %(day)s: waiting for your decision") % {"day": day.strftime("%m-%d")},
        line="; ".join(str(p) for p in parts),
        link=link,
        subject=outlet,
        at=at,
        dedupe_key=key,
    )


@in_portal_language
def carrier_failing(carrier, failures, *, key, at):
    return enqueue(
        event="carrier.failing",
        audience=Audience.SUPERVISORS,
        title=_("Interception submissions failing at a carrier"),
        line=_("%(carrier)s: %(n)s failed submissions in the last hour") % {"carrier": carrier.name, "n": failures},
        link=reverse("admin:interception_carriercall_changelist")
        + f"?carrier__id__exact={carrier.pk}&operation__exact=submit",
        subject=carrier,
        at=at,
        dedupe_key=key,
    )


AFTERSALE_EVENTS = {"refunded": "aftersale.refunded", "refused": "aftersale.refused"}


def on_aftersale_transition(sender, *, instance, target, **kwargs):
    """An after-sale refunded or refused, by whatever path (staff, R15's deadline, a success, bulk work): its
    merchant's webhooks hear it. django-fsm sends this inside the service's transaction, before the row's save."""
    if event := AFTERSALE_EVENTS.get(target):
        enqueue_webhook(
            event=event,
            merchant_id=instance.merchant_id,
            data={
                "after_sale_id": instance.pk,
                "after_sale_number": instance.number,
                "tracking_number": instance.parcel.tracking_number,
                "state": instance.state,
                "amount": instance.amount,
                "decided_at": instance.decided_at,
                "reason": str(instance.decision_reason or ""),
            },
        )
