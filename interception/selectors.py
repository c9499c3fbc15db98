"""Querysets shared by the admin, the API and exports.

Scoping lives here and only here: outlet staff see their own outlets' data,
an API client sees its merchant's or carrier's, staff roles see everything.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.models import (
    AfterSale,
    Carrier,
    CarrierCall,
    CarrierEvent,
    Contract,
    EwaybillAccount,
    FeeAmendment,
    InterceptionMode,
    InterceptionOrder,
    Merchant,
    Outlet,
    OutletMembership,
    Parcel,
    Platform,
    PlatformCarrier,
    TrackingEvent,
)
from kernel import inputs
from kernel.errors import DomainError, refuse
from kernel.search import tracking_number_filter  # noqa: F401 - the lists' and the API's tracking search


@dataclass(frozen=True)
class Scope:
    unrestricted: bool = False
    outlet_ids: frozenset = field(default_factory=frozenset)
    merchant_id: int | None = None
    carrier_id: int | None = None

    @property
    def outlet_staff(self):
        return not self.unrestricted and self.merchant_id is None and self.carrier_id is None


NOTHING = Scope()


def scope_for(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    # API clients never get staff status (they cannot log in to the admin); staff pages skip the lookup.
    client = None if user.is_staff else getattr(user, "api_client", None)
    if client is not None:
        scope = Scope(merchant_id=client.merchant_id, carrier_id=client.carrier_id)
    elif user.has_perm("interception.view_all_outlets"):  # the admin has loaded the permissions anyway
        scope = Scope(unrestricted=True)
    else:  # outlet staff, or nobody: only the outlets one is a member of
        scope = Scope(
            outlet_ids=frozenset(OutletMembership.objects.filter(user=user).values_list("outlet_id", flat=True))
        )
    user._portal_scope = scope
    return scope


def require_own_merchant(actor, merchant):
    """A merchant's API client acts only for its own merchant; staff and the system for any."""
    scope = scope_for(actor) if actor is not None else None
    if scope is not None and scope.merchant_id is not None and scope.merchant_id != merchant.pk:
        raise DomainError("forbidden", _("An API client acts only for its own merchant."), status=403)


def scope_filter(user, *, outlet=None, merchant=None, carrier=None):
    """A Q object restricting rows to what `user` may see.

    `outlet`, `merchant`, `carrier` are the lookup paths from the model to
    those objects; a scope whose path the model lacks sees nothing.
    """
    scope = scope_for(user)
    if scope.unrestricted:
        return Q()
    if scope.merchant_id is not None:
        return Q(**{merchant: scope.merchant_id}) if merchant else Q(pk__in=[])
    if scope.carrier_id is not None:
        return Q(**{carrier: scope.carrier_id}) if carrier else Q(pk__in=[])
    if scope.outlet_ids and outlet:
        return Q(**{f"{outlet}__in": scope.outlet_ids})
    return Q(pk__in=[])


def platform_list(user):
    return Platform.objects.all() if scope_for(user) != NOTHING else Platform.objects.none()


def carrier_list(user):
    return Carrier.objects.all() if scope_for(user) != NOTHING else Carrier.objects.none()


def platform_carrier_list(user):
    qs = PlatformCarrier.objects.select_related("platform", "carrier")
    return qs if scope_for(user) != NOTHING else qs.none()


def outlet_list(user):
    scope = scope_for(user)
    qs = Outlet.objects.select_related("carrier")
    if scope.merchant_id is not None:
        # A merchant sees the outlets it holds an e-waybill account with.
        return qs.filter(Exists(EwaybillAccount.objects.filter(outlet=OuterRef("pk"), merchant=scope.merchant_id)))
    return qs.filter(scope_filter(user, outlet="pk", carrier="carrier"))


def merchant_list(user):
    scope = scope_for(user)
    qs = Merchant.objects.select_related("platform")
    if scope.outlet_staff:
        # Outlet staff see only merchants that deal with their outlets.
        return qs.filter(Exists(EwaybillAccount.objects.filter(merchant=OuterRef("pk"), outlet__in=scope.outlet_ids)))
    if scope.carrier_id is not None:
        return qs.filter(
            Exists(EwaybillAccount.objects.filter(merchant=OuterRef("pk"), outlet__carrier=scope.carrier_id))
        )
    return qs.filter(scope_filter(user, merchant="pk"))


def ewaybill_account_list(user):
    qs = EwaybillAccount.objects.select_related("merchant", "outlet", "outlet__carrier", "platform")
    return qs.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="outlet__carrier"))


def membership_list(user):
    qs = OutletMembership.objects.select_related("user", "outlet", "outlet__carrier")
    scope = scope_for(user)
    if scope.merchant_id is not None or scope.carrier_id is not None:
        return qs.none()
    return qs.filter(scope_filter(user, outlet="outlet"))


def contract_list(user):
    qs = Contract.objects.select_related("merchant", "outlet", "outlet__carrier", "platform")
    if user is None:  # the system
        return qs
    return qs.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="outlet__carrier"))


def amendment_list(user):
    qs = FeeAmendment.objects.select_related(
        "contract", "contract__merchant", "contract__outlet", "contract__outlet__carrier", "contract__platform"
    )
    if user is None:
        return qs
    return qs.filter(
        scope_filter(
            user, outlet="contract__outlet", merchant="contract__merchant", carrier="contract__outlet__carrier"
        )
    )


def parcel_list(user):
    qs = Parcel.objects.select_related("carrier", "outlet", "merchant", "platform")
    if user is None:
        return qs
    return qs.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="carrier"))


def aftersale_list(user):
    """After-sales are the merchant's and buyer's business: outlet staff and carriers do not see them."""
    qs = AfterSale.objects.select_related("merchant", "platform", "parcel", "parcel__carrier", "parcel__outlet")
    if user is None:
        return qs
    return qs.filter(scope_filter(user, merchant="merchant"))


def interception_list(user):
    qs = InterceptionOrder.objects.select_related("merchant", "outlet", "carrier", "platform")
    if user is None:
        return qs
    return qs.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="carrier"))


def tracking_event_list(user):
    qs = TrackingEvent.objects.select_related("parcel")
    if user is None:
        return qs
    return qs.filter(
        scope_filter(user, outlet="parcel__outlet", merchant="parcel__merchant", carrier="parcel__carrier")
    )


def carrier_call_list(user):
    """What the portal asked of carriers' services: operations staff; never outlet staff or API clients."""
    qs = CarrierCall.objects.select_related("carrier")
    if user is None:
        return qs
    scope = scope_for(user)
    if not scope.unrestricted:
        return qs.none()
    return qs


def carrier_event_list(user):
    """Raw carrier callbacks: operations staff and the carrier itself."""
    qs = CarrierEvent.objects.select_related("carrier")
    if user is None:
        return qs
    if scope_for(user).outlet_staff:
        return qs.none()
    return qs.filter(scope_filter(user, carrier="carrier"))


# The named spans and cut-offs the lists' filters offer and the dashboard counts: one definition for both,
# so a dashboard number and the list its link opens always agree.
RESULT_SPANS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def waiting_longer_than(days, now=None):
    """Pending applications applied more than `days` days ago (the approval reminder)."""
    return Q(state=Contract.State.PENDING, applied_at__lt=(now or timezone.now()) - timedelta(days=days))


def handling_window(which, now=None):
    """After-sales whose handling window (R15) is "overdue" or ends "today" (Asia/Shanghai)."""
    now = now or timezone.now()
    if which == "overdue":
        return Q(state=AfterSale.State.INTERCEPTING, window_ends_at__lte=now)
    end_of_today = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min))
    return Q(state=AfterSale.State.INTERCEPTING, window_ends_at__gt=now, window_ends_at__lt=end_of_today)


def needs_decision(now=None):
    """After-sales whose interception failed while the handling window still runs (R15): the merchant must agree,
    refuse or ask the platform before it ends (with several parcels, one failed interception is enough)."""
    failed = InterceptionOrder.objects.filter(after_sale=OuterRef("pk"), state=InterceptionOrder.State.FAILED)
    return Q(state=AfterSale.State.INTERCEPTING, window_ends_at__gt=now or timezone.now()) & Q(Exists(failed))


def result_within(span, now=None):
    """Interceptions whose carrier result came within the named span ("24h", "7d", "30d")."""
    return Q(result_at__gte=(now or timezone.now()) - RESULT_SPANS[span])


def outcome(name):
    """ "success": the carrier intercepted it, whatever became of the return since; "failure": it did not."""
    states = {"success": InterceptionOrder.SUCCESS_STATES, "failure": [InterceptionOrder.State.FAILED]}[name]
    return Q(state__in=states)


def pending_by_outlet(user, now=None):
    """Each outlet's queue of applications: how many wait, how many over 1, 3 and 7 days, the oldest; longest first."""
    now = now or timezone.now()
    return (
        contract_list(user)
        .filter(state=Contract.State.PENDING)
        .order_by()
        .values("outlet__id", "outlet__code", "outlet__name", "outlet__carrier__name")
        .annotate(
            total=Count("id"),
            oldest=Min("applied_at"),
            **{f"over_{days}": Count("id", filter=waiting_longer_than(days, now)) for days in (1, 3, 7)},
        )
        .order_by("-over_7", "-over_3", "-total")
    )


def interception_lookup(user, tracking_number):
    """The scan-time answer for one tracking number: whether to stop the parcel and where it goes.

    One index probe (interception_tracking_idx), scoped like the lists: a parcel outside the caller's scope
    answers as one nobody intercepts, so the answer tells nothing about other carriers' or outlets' parcels.
    """
    number = (tracking_number or "").strip().upper()
    column = InterceptionOrder._meta.get_field("tracking_number")
    if problems := inputs.text_problems(number, "tracking_number", column=column, required=True):
        refuse(problems, status=400)
    row = (
        InterceptionOrder.objects.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="carrier"))
        .filter(tracking_number=number, state__in=InterceptionOrder.LIVE_STATES)
        .order_by("-id")
        .values("id", "state", "mode", "recipient_name", "recipient_phone", "recipient_address", "requested_at")
        .first()
    )
    if row is None:
        return {"tracking_number": number, "stop": False, "instruction": str(_("Deliver as usual."))}
    mode = InterceptionMode(row["mode"])
    rerouted = mode == InterceptionMode.REROUTE
    return {
        "tracking_number": number,
        "stop": True,
        "interception": row["id"],
        "state": row["state"],
        "state_label": str(InterceptionOrder.State(row["state"]).label),
        "mode": mode.value,
        "mode_label": str(mode.label),
        "new_address": {
            "name": row["recipient_name"],
            "phone": row["recipient_phone"],
            "address": row["recipient_address"],
        }
        if rerouted
        else None,
        "requested_at": row["requested_at"],
        "instruction": str(_("Do not deliver: intercepted, %(m)s.") % {"m": mode.label}),
    }


def notification_channel_list(user):
    """Notification channels: outlet staff see their outlets' (and no team's); staff roles see all."""
    from notifications.models import Channel

    return Channel.objects.select_related("outlet").filter(scope_filter(user, outlet="outlet"))


def notification_list(user):
    from notifications.models import Notification

    return Notification.objects.select_related("channel").filter(scope_filter(user, outlet="channel__outlet"))
