"""What claims tell people and merchants' systems (docs/notifications.md), called in the transaction of the action.

A claim filed or an amount proposed by the merchant's side is against the outlet: the outlet is told. An amount
proposed by the outlet and an arbitration award are customer service's to answer. Every change of a claim reaches
its merchant's webhooks (`claim.changed`), whichever path took it (the transitions send django-fsm's signal).
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims import rules
from claims.models import Claim
from notifications import enqueue, enqueue_webhook, in_portal_language
from notifications.models import Audience, Channel, Notification

ARBITRATION_OPEN = "claim.arbitration_open"


def _link(claim):
    return reverse("admin:claims_claim_change", args=[claim.pk])


def _line(claim, amount):
    return _("Claim #%(n)s · %(tn)s · %(kind)s · %(amount)s yuan") % {
        "n": claim.pk,
        "tn": claim.tracking_number,
        "kind": claim.get_kind_display(),
        "amount": amount,
    }


def _changed(claim, transition):
    enqueue_webhook(
        event="claim.changed",
        merchant_id=claim.merchant_id,
        data={
            "claim_id": claim.pk,
            "interception_id": claim.interception_id,
            "tracking_number": claim.tracking_number,
            "kind": claim.kind,
            "state": claim.state,
            "transition": transition,
            "claimed_amount": claim.claimed_amount,
            "offer_amount": claim.offer_amount,
            "offer_side": claim.offer_side,
            "final_amount": claim.final_amount,
        },
    )


def on_transition(sender, *, instance, name, **kwargs):
    _changed(instance, name)


@in_portal_language
def claim_filed(claim):
    _changed(claim, "file")
    enqueue(
        event="claim.filed",
        audience=Audience.OUTLET,
        outlet_id=claim.outlet_id,
        title=_("Claims filed against you"),
        line=_line(claim, claim.claimed_amount),
        link=_link(claim),
        subject=claim,
    )


@in_portal_language
def claim_proposed(claim):
    """An amount on the table: the other side is told (the outlet of the merchant's, customer service of the
    outlet's)."""
    if claim.offer_side == Claim.Side.MERCHANT:
        audience, title = Audience.OUTLET, _("Claim amounts proposed to you")
    else:
        audience, title = Audience.CUSTOMER_SERVICE, _("Claim amounts proposed by the outlet")
    enqueue(
        event="claim.proposed",
        audience=audience,
        outlet_id=claim.outlet_id,
        title=title,
        line=_line(claim, claim.offer_amount),
        link=_link(claim),
        subject=claim,
    )


@in_portal_language
def claim_awarded(claim):
    enqueue(
        event="claim.awarded",
        audience=Audience.CUSTOMER_SERVICE,
        title=_("Claims awarded by platform arbitration"),
        line=_line(claim, claim.final_amount),
        link=_link(claim),
        subject=claim,
    )


@in_portal_language
def arbitration_windows_open(sender=None, *, now=None, **kwargs):
    """A step of the deadlines runner: claims still without agreement whose arbitration window (day 7 to day 30
    after the success, R25) has opened are told to customer service, once per claim."""
    now = now or timezone.now()
    if not Channel.objects.filter(active=True, audience=Audience.CUSTOMER_SERVICE).exists():
        return 0
    told = Notification.objects.filter(
        event=ARBITRATION_OPEN, subject_type=ContentType.objects.get_for_model(Claim), subject_id=OuterRef("pk")
    )
    # Not locked: the claims stay free for the people working on them; the dedupe key writes each warning once.
    waiting = (
        Claim.objects.select_related("platform")
        .filter(state__in=[Claim.State.FILED, Claim.State.NEGOTIATING], succeeded_at__lte=now)
        .exclude(Exists(told))
        .order_by("pk")
    )
    sent = 0
    for claim in waiting:
        opens, closes = rules.arbitration_window(claim.succeeded_at, claim.platform)
        if not opens <= now < closes:
            continue
        sent += bool(
            enqueue(
                event=ARBITRATION_OPEN,
                audience=Audience.CUSTOMER_SERVICE,
                title=_("Platform arbitration open for claims without agreement"),
                line=_("%(claim)s · until %(until)s")
                % {"claim": _line(claim, claim.offer_amount), "until": f"{closes - timedelta(days=1):%Y-%m-%d}"},
                link=_link(claim),
                subject=claim,
                at=now,
                dedupe_key=f"{ARBITRATION_OPEN}:{claim.pk}",
            )
        )
    return sent
