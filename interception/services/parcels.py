"""Parcels and after-sales as they arrive (R7, R12): registered, recorded, withdrawn by the buyer."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import carriers, rules, selectors
from interception.models import (
    AfterSale,
    GoodsLine,
    InterceptionOrder,
    Parcel,
    Subscription,
)
from interception.services.callbacks import replay_waiting
from interception.services.starting import interception_start
from kernel import inputs, timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.transitions import lock, require, take


@transaction.atomic
def parcel_create(*, actor, merchant, outlet, tracking_number, order_number, parcels_in_order=1, goods=()):
    """Register a shipped parcel with its goods; carrier events that arrived before it are applied now."""
    require(actor, "interception.add_parcel")
    selectors.require_own_merchant(actor, merchant)
    tracking_number = (tracking_number or "").strip().upper()
    problems = []
    if not tracking_number:
        problems.append(Problem("tracking_number_required", _("The tracking number is required."), "tracking_number"))
    problems += inputs.columns_problems(Parcel, tracking_number=tracking_number, order_number=order_number)
    if not goods:
        problems.append(Problem("goods_required", _("A parcel needs at least one goods line."), "goods"))
    for index, line in enumerate(goods):
        problems.extend(
            Problem(p.code, _("Goods line %(n)s: %(m)s") % {"n": index + 1, "m": p.message}, f"goods[{index}].value")
            for p in rules.fee_problems(line.get("value"), "value")
        )
        problems.extend(
            Problem(p.code, p.message, f"goods[{index}].{p.field}")
            for p in inputs.columns_problems(
                GoodsLine, name=line.get("name"), specification=line.get("specification") or ""
            )
        )
    if problems:
        refuse(problems, status=400)
    if Parcel.objects.filter(carrier=outlet.carrier_id, tracking_number=tracking_number).exists():
        raise DomainError(
            "parcel_exists",
            _("Parcel %(t)s of %(c)s exists already.") % {"t": tracking_number, "c": outlet.carrier},
            status=409,
        )
    # A carrier whose service pushes tracking has the parcel subscribed by the runner (services.subscriptions).
    adapter = carriers.adapter_class(outlet.carrier.adapter or settings.CARRIER_ADAPTER)
    tracked = adapter is not None and adapter.capabilities.tracking
    parcel = Parcel.objects.create(
        subscription=Subscription.DUE if tracked else Subscription.NONE,
        resubscribe_at=timezone.now() if tracked else None,
        carrier_id=outlet.carrier_id,
        outlet=outlet,
        merchant=merchant,
        platform_id=merchant.platform_id,
        tracking_number=tracking_number,
        order_number=order_number,
        parcels_in_order=parcels_in_order or 1,
    )
    GoodsLine.objects.bulk_create(
        [
            GoodsLine(
                parcel=parcel,
                name=line["name"],
                category=line.get("category") or "general",
                quantity=line.get("quantity") or 1,
                specification=line.get("specification") or "",
                value=Decimal(str(line["value"])).quantize(Decimal("0.01")),
            )
            for line in goods
        ]
    )
    replay_waiting(parcel.carrier_id, tracking_number)
    return parcel


@transaction.atomic
def aftersale_create(*, actor, parcel, number, kind, amount, reason="", other_parcels=()):
    """Record a buyer's after-sale; with the merchant's auto-intercept rule on, intercept at once (R12).

    `other_parcels` are further parcels of the same order that the after-sale names (Douyin lets the buyer
    choose several); `parcel` is the first."""
    require(actor, "interception.add_aftersale")
    selectors.require_own_merchant(actor, parcel.merchant)
    problems = rules.fee_problems(amount, "amount") + inputs.columns_problems(
        AfterSale, number=number, reason=reason or ""
    )
    if kind not in AfterSale.Kind.values:
        problems.append(Problem("kind_invalid", _("Unknown after-sale type %(k)s.") % {"k": kind}, "kind"))
    problems += rules.named_parcels_problems(parcel, list(other_parcels))
    if problems:
        refuse(problems, status=400)
    if AfterSale.objects.filter(platform=parcel.platform_id, number=number).exists():
        raise DomainError("after_sale_exists", _("After-sale %(n)s exists already.") % {"n": number}, status=409)
    after_sale = AfterSale.objects.create(
        number=number,
        merchant_id=parcel.merchant_id,
        platform_id=parcel.platform_id,
        parcel=parcel,
        kind=kind,
        amount=Decimal(str(amount)).quantize(Decimal("0.01")),
        reason=reason,
    )
    if other_parcels:
        after_sale.other_parcels.set(other_parcels)
    timeline.record(
        after_sale, actor=actor, transition="create_aftersale", to_state=after_sale.state, at=after_sale.created_at
    )
    order = None
    if parcel.merchant.auto_intercept and kind == AfterSale.Kind.REFUND_ONLY:
        try:
            with transaction.atomic():
                order = interception_start(after_sale_id=after_sale.pk, actor=None, via=InterceptionOrder.Via.AUTO)
            after_sale.refresh_from_db()
        except DomainError as exc:
            timeline.record(
                after_sale,
                actor=None,
                transition="auto_intercept_refused",
                reason=", ".join(e["code"] for e in exc.errors) or exc.code,
            )
            after_sale.auto_intercept_problems = exc.errors
    return after_sale, order


@transaction.atomic
def aftersale_close(*, after_sale_id, actor, reason=""):
    """The buyer withdrew the request before any interception."""
    after_sale = lock(selectors.aftersale_list(actor), after_sale_id, what=_("After-sale"))
    take(after_sale, "close", actor=actor, event="close_aftersale", reason=reason)
    return after_sale
