"""Admin for parcels, after-sales and interceptions: customer service's daily screens (R7-R18)."""

import itertools
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from rangefilter.filters import DateRangeFilterBuilder

from interception import master_data, rules, selectors, services
from interception.admin.search import by_merchant, by_order_number, by_parcel_tracking_number
from interception.models import (
    AfterSale,
    Carrier,
    CarrierCall,
    CarrierEvent,
    CarrierResult,
    GoodsLine,
    InterceptionMode,
    InterceptionOrder,
    Parcel,
    SettlementMode,
    TrackingEvent,
)
from kernel import sql_csv
from kernel.admin_actions import (
    ObjectAction,
    ObjectActionsMixin,
    ReasonForm,
    RequiredReasonForm,
    can_transition,
    describe_error,
)
from kernel.admin_base import (
    DefaultChoiceFilter,
    OutletFilter,
    PortalAdmin,
    ReadOnlyInline,
    ReadOnlyMixin,
    SearchMixin,
    TimelineMixin,
    TrackingSearchMixin,
    by_tracking_number,
    countdown,
    money_column,
)
from kernel.admin_imports import PortalImportExportMixin
from kernel.errors import DomainError
from kernel.money import yuan
from kernel.spreadsheets import csv_chunks, stream_csv, stream_csv_chunks


class WindowFilter(admin.SimpleListFilter):
    """The dashboard's deadlines: handling windows (R15) that end today or have ended."""

    title = _("handling window")
    parameter_name = "window"

    def lookups(self, request, model_admin):
        return [("today", _("ends today")), ("overdue", _("overdue"))]

    def queryset(self, request, queryset):
        if self.value() in ("today", "overdue"):
            return queryset.filter(selectors.handling_window(self.value()))
        return queryset


class AfterSaleStateFilter(DefaultChoiceFilter):
    """The after-sale list opens on what still needs work, not on refunded rows."""

    title = _("state")
    parameter_name = "state__exact"
    default = "todo"

    def lookups(self, request, model_admin):
        return [("todo", _("still to handle")), ("decide", _("needs a decision")), *AfterSale.State.choices]

    def filter(self, queryset, value):
        if value == "todo":
            return queryset.filter(state__in=AfterSale.TODO_STATES)
        if value == "decide":
            return queryset.filter(selectors.needs_decision())
        return queryset.filter(state=value)


class ResultWithinFilter(admin.SimpleListFilter):
    title = _("carrier result")
    parameter_name = "result_within"

    def lookups(self, request, model_admin):
        return [("24h", _("in the last 24 hours")), ("7d", _("in the last 7 days")), ("30d", _("in the last 30 days"))]

    def queryset(self, request, queryset):
        if self.value() in selectors.RESULT_SPANS:
            return queryset.filter(selectors.result_within(self.value()))
        return queryset


class ResultFilter(admin.SimpleListFilter):
    """Success and failure as the carrier answered, whatever happened to the return since."""

    title = _("outcome")
    parameter_name = "result"

    def lookups(self, request, model_admin):
        return [("success", _("succeeded")), ("failure", _("failed"))]

    def queryset(self, request, queryset):
        return queryset.filter(selectors.outcome(self.value())) if self.value() in ("success", "failure") else queryset


class GoodsInline(ReadOnlyInline):
    model = GoodsLine
    fields = ["name", "category", "quantity", "specification", "value"]


SEARCH_HELP = _("Tracking number (exact or its beginning), order number, or merchant code or name.")


class TrackingInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ["at", "status", "place", "raw_text"]
    ordering = ["-at", "-id"]
    verbose_name_plural = _("tracking")


@admin.register(Parcel)
class ParcelAdmin(SearchMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.parcel_list
    search_by = [by_tracking_number(), by_order_number(parcel=None), by_merchant()]
    search_help_text = SEARCH_HELP
    list_display = ["tracking_number", "carrier", "outlet", "merchant", "order_number", "status", "last_event_at"]
    list_filter = ["carrier", "platform"]
    list_select_related = ["carrier", "outlet", "merchant"]
    readonly_fields = [
        "tracking_number",
        "carrier",
        "outlet",
        "merchant",
        "platform",
        "order_number",
        "parcels_in_order",
        "status",
        "last_event_at",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [GoodsInline, TrackingInline]

    @admin.display(description=_("logistics status"))
    def status(self, obj):
        return obj.logistics_status().label


# --- after-sales -----------------------------------------------------------------------------------------------------


class AfterSaleAddForm(forms.Form):
    number = forms.CharField(label=_("after-sale number"), max_length=64)
    carrier = forms.ModelChoiceField(Carrier.objects.all(), label=_("carrier"))
    tracking_number = forms.CharField(label=_("tracking number"), max_length=40)
    other_tracking_numbers = forms.CharField(
        label=_("other parcels of the order"),
        required=False,
        max_length=1000,
        help_text=_("When the buyer chose several parcels of the order: their tracking numbers, one per line."),
        widget=forms.Textarea({"rows": 2}),
    )
    kind = forms.ChoiceField(label=_("type"), choices=AfterSale.Kind.choices)
    amount = forms.DecimalField(label=_("refund amount (yuan)"), min_value=0, max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("buyer's reason"), required=False, max_length=500)


def _start_many(objects, actor):
    """The bulk start as one set (each after-sale refused on its own, with its reasons)."""
    by_id = {obj.pk: obj for obj in objects}
    outcomes = services.interceptions_start_many(after_sale_ids=list(by_id), actor=actor)
    return [
        (by_id[pk], True, _("done")) if error is None else (by_id[pk], False, describe_error(error))
        for pk, _orders, error in outcomes
    ]


def _can_refuse(obj, user):
    return can_transition("refuse")(obj, user) and services.refuse_allowed(obj)


TRAIL_LENGTH = 50


class TrailMixin:
    """The parcel's trail, newest first, as both platforms' consoles show it beside the interception."""

    @admin.display(description=_("the parcel's trail"))
    def trail(self, obj):
        events = obj.parcel.tracking_events.order_by("-at", "-id")[:TRAIL_LENGTH]
        return render_to_string("admin/interception/trail.html", {"events": events})


def carrier_reason(order):
    """The carrier's words for a failure; its code only when it gave no words."""
    return order.failure_text or order.failure_code or "—"


class CountdownMixin:
    @admin.display(description=_("handling window"), ordering="window_ends_at")
    def window(self, obj):
        after_sale = obj if isinstance(obj, AfterSale) else obj.after_sale
        ends = after_sale.running_window_end
        if ends is None:
            return "—"
        late = ends <= timezone.now()
        return format_html(
            '<span class="{}" title="{}">{}</span>',
            "portal-overdue" if late else "",
            timezone.localtime(ends).strftime("%Y-%m-%d %H:%M"),
            countdown(ends),
        )


@admin.register(AfterSale)
class AfterSaleAdmin(
    PortalImportExportMixin,
    SearchMixin,
    TrailMixin,
    CountdownMixin,
    ObjectActionsMixin,
    TimelineMixin,
    ReadOnlyMixin,
    PortalAdmin,
):
    selector = selectors.aftersale_list
    resource_classes = [master_data.AfterSaleResource]
    # A file's rows are created by aftersale_create, which asks for this permission as the API does.
    import_permission = "interception.add_aftersale"
    list_display = [
        "number",
        "merchant",
        "tracking",
        "kind",
        money_column("amount", _("refund amount")),
        "situation",
        "window",
        "created_at",
    ]
    list_filter = [AfterSaleStateFilter, WindowFilter, "kind", "platform"]
    list_select_related = ["merchant", "parcel", "platform"]
    search_by = [
        lambda request, term: Q(number__startswith=term),
        by_parcel_tracking_number(),
        by_order_number(),
        by_merchant(),
    ]
    search_help_text = _(
        "After-sale number or tracking number (exact or its beginning), order number, or merchant code or name."
    )
    readonly_fields = [
        "number",
        "merchant",
        "platform",
        "parcel",
        "other_parcels_list",
        "kind",
        "amount",
        "reason",
        "state",
        "window",
        "created_at",
        "intercepting_since",
        "window_ends_at",
        "decided_by",
        "decided_at",
        "decision_reason",
        "interceptions_link",
        "situation",
        "interception_status",
        "trail",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "situation",
                    "interception_status",
                    "window",
                    "number",
                    "merchant",
                    "platform",
                    "parcel",
                    "other_parcels_list",
                    "kind",
                    "amount",
                    "reason",
                    "interceptions_link",
                ]
            },
        ),
        (
            _("Handling"),
            {
                "fields": [
                    "created_at",
                    "intercepting_since",
                    "window_ends_at",
                    "decided_by",
                    "decided_at",
                    "decision_reason",
                ]
            },
        ),
        (_("The parcel's trail"), {"fields": ["trail"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
    ]
    timeline_state_labels = dict(AfterSale.State.choices)
    change_form_template = "admin/interception/aftersale/change_form.html"
    object_actions = [
        # In bulk only: one by one, the interception page shows the facts first.
        ObjectAction(
            "intercept",
            _("Start interception"),
            available=lambda obj, user: False,
            run=lambda obj, actor: services.interception_start(
                after_sale_id=obj.pk, actor=actor, via=InterceptionOrder.Via.BULK
            ),
            run_many=_start_many,
        ),
        ObjectAction(
            "agree",
            _("Agree to refund"),
            available=can_transition("refund"),
            form_class=ReasonForm,
            bulk=False,
            run=lambda obj, actor, reason: services.aftersale_agree_refund(
                after_sale_id=obj.pk, actor=actor, reason=reason
            ),
            done=_("After-sale %(obj)s: the refund is agreed."),
        ),
        ObjectAction(
            "refuse",
            _("Refuse the refund"),
            available=_can_refuse,
            form_class=RequiredReasonForm,
            bulk=False,
            danger=True,
            run=lambda obj, actor, reason: services.aftersale_refuse(after_sale_id=obj.pk, actor=actor, reason=reason),
            done=_("After-sale %(obj)s: the refund is refused."),
        ),
        ObjectAction(
            "close",
            _("Buyer withdrew"),
            available=can_transition("close"),
            form_class=ReasonForm,
            bulk=False,
            run=lambda obj, actor, reason: services.aftersale_close(after_sale_id=obj.pk, actor=actor, reason=reason),
            done=_("After-sale %(obj)s closed: the buyer withdrew."),
        ),
        ObjectAction(
            "platform",
            _("Ask the platform to intervene"),
            available=can_transition("ask_platform"),
            form_class=RequiredReasonForm,
            bulk=False,
            run=lambda obj, actor, reason: services.aftersale_ask_platform(
                after_sale_id=obj.pk, actor=actor, reason=reason
            ),
            done=_("After-sale %(obj)s: the platform is asked to intervene."),
        ),
    ]

    @admin.display(description=_("tracking number"), ordering="parcel__tracking_number")
    def tracking(self, obj):
        return obj.parcel.tracking_number

    def get_queryset(self, request):
        # A scalar subquery with LIMIT 1 is asked per row of the page; an EXISTS would let PostgreSQL hash every
        # failed interception of the table first (200 ms at 1M).
        failed = InterceptionOrder.objects.filter(after_sale=OuterRef("pk"), state=InterceptionOrder.State.FAILED)
        return super().get_queryset(request).annotate(failed_interception=Subquery(failed.values("pk")[:1]))

    @staticmethod
    def _waits_for_decision(obj):
        return obj.intercepting and obj.failed_interception is not None

    @admin.display(description=_("state"), ordering="state")
    def situation(self, obj):
        # "Intercepting" would hide that the interception failed and the decision is now the merchant's (R15).
        if self._waits_for_decision(obj):
            return format_html('<span class="portal-overdue">{}</span>', _("interception failed: decide"))
        return obj.get_state_display()

    @admin.display(description=_("interception"))
    def interception_status(self, obj):
        """Each interception of the after-sale (one per parcel it intercepts), a failure's reason, and the
        decision it waits for."""
        orders = list(obj.interceptions.order_by("id"))
        if not orders:
            return "—"
        several = len(orders) > 1
        parts = []
        for order in orders:
            parts.append(
                format_html(
                    '<p><a href="{}">#{} {}</a>{}</p>',
                    reverse("admin:interception_interceptionorder_change", args=[order.pk]),
                    order.pk,
                    order.get_state_display(),
                    f" · {order.tracking_number}" if several else "",
                )
            )
            if order.state == InterceptionOrder.State.FAILED:
                parts.append(
                    format_html('<p class="portal-failure">{}: {}</p>', _("carrier's reason"), carrier_reason(order))
                )
        if self._waits_for_decision(obj) and obj.window_ends_at:
            parts.append(
                format_html(
                    '<p class="portal-overdue portal-decide">{}</p>',
                    _(
                        "Decide before %(t)s: agree to refund, refuse or ask the platform to intervene. "
                        "Undecided, the refund is granted then."
                    )
                    % {"t": timezone.localtime(obj.window_ends_at).strftime("%Y-%m-%d %H:%M")},
                )
            )
        return format_html_join("", "{}", ((part,) for part in parts))

    @admin.display(description=_("other parcels of the order"))
    def other_parcels_list(self, obj):
        others = obj.named_parcels()[1:]
        return ", ".join(p.tracking_number for p in others) or "—"

    @admin.display(description=_("interceptions"))
    def interceptions_link(self, obj):
        url = reverse("admin:interception_interceptionorder_changelist") + f"?after_sale__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("interceptions of this after-sale"))

    def has_add_permission(self, request):
        return request.user.has_perm("interception.add_aftersale")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/intercept/", view(self.intercept_view), name="interception_aftersale_intercept"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_intercept"] = request.user.has_perm("interception.start_interception")
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AfterSaleAddForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            parcels = selectors.parcel_list(request.user).filter(carrier=data["carrier"])
            parcel = parcels.filter(tracking_number=data["tracking_number"].strip().upper()).first()
            numbers = list(dict.fromkeys(n.upper() for n in data["other_tracking_numbers"].split()))
            others = {p.tracking_number: p for p in parcels.filter(tracking_number__in=numbers)}
            if parcel is None:
                form.add_error("tracking_number", _("No such parcel of this carrier."))
            elif unknown := [n for n in numbers if n not in others]:
                form.add_error(
                    "other_tracking_numbers", _("No such parcel of this carrier: %(t)s.") % {"t": ", ".join(unknown)}
                )
            else:
                try:
                    after_sale, order = services.aftersale_create(
                        actor=request.user,
                        parcel=parcel,
                        number=data["number"],
                        kind=data["kind"],
                        amount=data["amount"],
                        reason=data["reason"],
                        other_parcels=[others[n] for n in numbers],
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    if order is not None:
                        messages.success(
                            request, _("Intercepted automatically (the merchant's rule): #%(n)s.") % {"n": order.pk}
                        )
                    return HttpResponseRedirect(reverse("admin:interception_aftersale_intercept", args=[after_sale.pk]))
        return self.render_page(
            request, "admin/interception/aftersale/add.html", form=form, title=_("Record an after-sale")
        )

    def intercept_view(self, request, object_id):
        """The interception page (R12): for each parcel the after-sale names, its tracking, goods and eligibility
        and the fee that will be charged; where the parcels go; the button."""
        after_sale = self.get_object(request, object_id)
        if after_sale is None:
            raise Http404
        modes = services.carrier_modes(after_sale.parcel.carrier)
        previews = services.interception_previews(after_sale)
        form = InterceptForm(
            request.POST if request.method == "POST" else None, modes=modes, contract=previews[0].contract
        )
        mode, new_address = InterceptionMode.RETURN_TO_SENDER, None
        several = after_sale.other_parcels.exists()
        chosen = None
        if request.method == "POST" and form.is_valid():
            mode, new_address = form.cleaned_data["mode"], form.new_address()
            if several:
                chosen = [int(pk) for pk in request.POST.getlist("parcels") if pk.isdigit()]
            try:
                orders = services.interceptions_start(
                    after_sale_id=after_sale.pk,
                    actor=request.user,
                    parcel_ids=chosen,
                    mode=mode,
                    new_address=new_address,
                    sign_agreement=request.POST.get("sign_agreement") == "yes",
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                form.show_problems(exc.errors)
            else:
                if len(orders) == 1:
                    messages.success(
                        request, _("Interception #%(n)s started; the carrier is being asked.") % {"n": orders[0].pk}
                    )
                    return HttpResponseRedirect(
                        reverse("admin:interception_interceptionorder_change", args=[orders[0].pk])
                    )
                messages.success(
                    request,
                    _("%(n)s interceptions started, one for each parcel; the carriers are being asked.")
                    % {"n": len(orders)},
                )
                return HttpResponseRedirect(
                    reverse("admin:interception_interceptionorder_changelist")
                    + f"?after_sale__id__exact={after_sale.pk}"
                )
            after_sale = self.get_object(request, object_id)
        if request.method == "POST":  # judged again: the chosen mode, and what a refused start left
            previews = services.interception_previews(after_sale, mode=mode, new_address=new_address)
        # Signing on the spot (R5) is offered when the unsigned agreement is a parcel's one refusal.
        sign_first = any(p.needs_only_the_agreement for p in previews) and request.user.has_perm(
            "interception.sign_agreement"
        )
        for preview in previews:
            preview.events = preview.parcel.tracking_events.order_by("-at", "-id")[:TRAIL_LENGTH]
            preview.goods = preview.parcel.goods.all()
            # The parcel's own problems decide its box; the mode's are the form's to show.
            own = [p for p in preview.problems if not str(p.field or "").startswith(("mode", "new_address"))]
            preview.startable = not own or (sign_first and preview.needs_only_the_agreement)
            preview.chosen = preview.startable if chosen is None else preview.parcel.pk in chosen
        return self.render_page(
            request,
            "admin/interception/aftersale/intercept.html",
            original=after_sale,
            title=(
                _("Intercept the parcels of after-sale %(n)s")
                if several
                else _("Intercept the parcel of after-sale %(n)s")
            )
            % {"n": after_sale.number},
            previews=previews,
            several=several,
            form=form,
            can_start=any(p.startable for p in previews) and request.user.has_perm("interception.start_interception"),
            sign_first=sign_first,
            interceptions=after_sale.interceptions.order_by("-id")[:10],
        )


class InterceptForm(forms.Form):
    """Where the intercepted parcel goes (the modes the carrier's service supports) and a reroute's address."""

    # Not required: a form posted without a choice goes back to the sender, the seeds' one mode.
    mode = forms.ChoiceField(label=_("where it goes"), widget=forms.RadioSelect, required=False)
    recipient_name = forms.CharField(label=_("new recipient"), required=False)
    recipient_phone = forms.CharField(label=_("new recipient's phone"), required=False)
    recipient_address = forms.CharField(label=_("new address"), required=False, widget=forms.Textarea({"rows": 2}))
    # Said and ticked before the start (R11): the fee is charged and nothing can take the interception back.
    understood = forms.BooleanField(label=_("I understand that the interception cannot be cancelled once started."))

    def __init__(self, *args, modes, contract, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(InterceptionMode.choices)
        fees = {m: contract.fee_for(m) for m in modes} if contract is not None else {}
        self.fields["mode"].choices = [
            (m, labels[m] if fees.get(m) is None else f"{labels[m]} · {yuan(fees[m])}") for m in modes
        ]
        self.fields["mode"].initial = modes[0]
        self.fields["understood"].label = self.understood_label(contract, fees)
        self.reroutes = InterceptionMode.REROUTE in modes
        if not self.reroutes:
            for name in ("recipient_name", "recipient_phone", "recipient_address"):
                del self.fields[name]

    @staticmethod
    def understood_label(contract, fees):
        if contract is None or not fees:
            return _("I understand that the interception cannot be cancelled once started.")
        when = _("whether it succeeds or fails") if contract.charge_failed else _("only if it succeeds")
        if len(set(fees.values())) == 1:
            return _(
                "I understand that %(fee)s will be charged (%(when)s) and that the interception cannot be "
                "cancelled once started."
            ) % {"fee": yuan(next(iter(fees.values()))), "when": when}
        return _(
            "I understand that the fee beside the chosen way will be charged (%(when)s) and that the interception "
            "cannot be cancelled once started."
        ) % {"when": when}

    def clean_mode(self):
        return self.cleaned_data["mode"] or InterceptionMode.RETURN_TO_SENDER

    def new_address(self):
        data = self.cleaned_data
        return {part: data.get(column, "") for part, column in rules.NEW_ADDRESS_FIELDS.items()}

    def show_problems(self, errors):
        """The service's problems beside the fields they name (the page's message says them all)."""
        for error in errors or ():
            field = error.get("field") or ""
            name = "mode" if field == "mode" else rules.NEW_ADDRESS_FIELDS.get(field.removeprefix("new_address."))
            if name in self.fields:
                self.add_error(name, error["message"])


# --- interception orders ---------------------------------------------------------------------------------------------


class ResultForm(forms.Form):
    # No outcome chosen in advance: one careless click must not record a success (and refund the buyer).
    result = forms.ChoiceField(label=_("result"), choices=[("", "---------"), *CarrierResult.choices])
    reason_code = forms.CharField(label=_("carrier's reason code"), required=False, max_length=64)
    reason_text = forms.CharField(label=_("carrier's reason"), required=False, max_length=500)
    note = forms.CharField(
        label=_("how it was confirmed"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. phone call with the outlet, who and when."),
    )


def _can_record(obj, user):
    return services.result_recordable(obj, user)


def _can_confirm_return(obj, user):
    return services.return_confirmable(obj, user)


class ReturnReceivedForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReturnDamagedForm(forms.Form):
    note = forms.CharField(
        label=_("the damage"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What is damaged and how; the photos go with the damage claim."),
    )


EXPORT_COLUMNS = [
    ("id", _("interception")),
    ("tracking_number", _("tracking number")),
    ("merchant__code", _("merchant")),
    ("merchant__name", _("merchant name")),
    ("outlet__code", _("outlet")),
    ("outlet__name", _("outlet name")),
    ("carrier__name", _("carrier")),
    ("platform__name", _("platform")),
    ("settlement_mode", _("settlement mode")),
    ("mode", _("where it goes")),
    ("recipient_address", _("new address")),
    ("fee", _("fee (yuan)")),
    ("chargeable", _("chargeable")),
    ("state", _("state")),
    ("requested_at", _("requested at")),
    ("result_at", _("result at")),
    ("failure_code", _("carrier's reason code")),
    ("failure_text", _("carrier's reason")),
    ("return_loss", _("return failure")),
]
# Codes people read as words in the file (the reason code stays a code: machines match on it).
EXPORT_LABELS = {
    "settlement_mode": dict(SettlementMode.choices),
    "mode": dict(InterceptionMode.choices),
    "state": dict(InterceptionOrder.State.choices),
    "return_loss": dict(InterceptionOrder.ReturnLoss.choices),
    "chargeable": {True: _("yes"), False: _("no")},
}


@admin.register(InterceptionOrder)
class InterceptionOrderAdmin(
    TrailMixin, CountdownMixin, SearchMixin, ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, PortalAdmin
):
    selector = selectors.interception_list
    search_by = [by_tracking_number(), by_order_number(), by_merchant()]
    search_help_text = SEARCH_HELP
    # What decides the next step, in view at 1440 px; carrier, platform and modes are filters and on the page.
    list_display = [
        "id",
        "tracking_number",
        "merchant",
        "outlet",
        money_column("fee", _("fee")),
        "state",
        "window",
        "requested_at",
    ]
    list_filter = [
        "state",
        ResultFilter,
        ResultWithinFilter,
        "carrier",
        "platform",
        "settlement_mode",
        "mode",
        OutletFilter,
        ("requested_at", DateRangeFilterBuilder(title=_("created"))),
    ]
    list_select_related = ["merchant", "outlet", "carrier", "platform", "after_sale"]
    ordering = ["-id"]
    readonly_fields = [
        "state",
        "tracking_number",
        "parcel",
        "after_sale",
        "window",
        "destination",
        "merchant",
        "outlet",
        "carrier",
        "platform",
        "contract",
        "settlement_mode",
        "fee",
        "return_shipping",
        "charge_on_success",
        "charge_on_failure",
        "chargeable",
        "via",
        "requested_by",
        "requested_at",
        "carrier_ref",
        "submitted_at",
        "submit_attempts",
        "next_submit_at",
        "last_submit_error",
        "result_at",
        "result_source",
        "failure_text",
        "return_scan_at",
        "returned_at",
        "return_loss",
        "note",
        "reason",
        "trail",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "state",
                    "reason",
                    "tracking_number",
                    "parcel",
                    "after_sale",
                    "window",
                    "destination",
                    "merchant",
                    "outlet",
                    "carrier",
                    "platform",
                    "via",
                    "requested_by",
                    "requested_at",
                ]
            },
        ),
        (
            _("Fee snapshot"),
            {
                "fields": [
                    "contract",
                    "settlement_mode",
                    "fee",
                    "return_shipping",
                    "charge_on_success",
                    "charge_on_failure",
                    "chargeable",
                ]
            },
        ),
        (
            _("Carrier"),
            {
                "fields": [
                    "carrier_ref",
                    "submitted_at",
                    "submit_attempts",
                    "next_submit_at",
                    "last_submit_error",
                    "result_at",
                    "result_source",
                    # the carrier's code stays in the API and the exports: people read its words
                    "failure_text",
                ]
            },
        ),
        (_("Return"), {"fields": ["return_scan_at", "returned_at", "return_loss", "note"]}),
        (_("The parcel's trail"), {"fields": ["trail"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
    ]
    timeline_state_labels = dict(InterceptionOrder.State.choices)

    @admin.display(description=_("carrier's reason"))
    def reason(self, obj):
        if obj.state != InterceptionOrder.State.FAILED:
            return "—"
        return format_html('<strong class="portal-failure">{}</strong>', carrier_reason(obj))

    def get_inlines(self, request, obj):
        return [CarrierCallInline]

    @admin.display(description=_("return shipping"))
    def return_shipping(self, obj):
        return obj.return_shipping

    @admin.display(description=_("where it goes"))
    def destination(self, obj):
        if obj.mode != InterceptionMode.REROUTE:
            return obj.get_mode_display()
        return format_html(
            "{}: {} · {} · {}", obj.get_mode_display(), obj.recipient_name, obj.recipient_phone, obj.recipient_address
        )

    change_list_template = "admin/interception/interceptionorder/change_list.html"
    object_actions = [
        ObjectAction(
            "result",
            _("Record a result"),
            available=_can_record,
            form_class=ResultForm,
            bulk=False,
            run=lambda obj, actor, **data: services.interception_record_result(order_id=obj.pk, actor=actor, **data),
            done=_("Result of interception %(obj)s recorded."),
        ),
        ObjectAction(
            "return_received",
            _("Returned parcel received"),
            available=_can_confirm_return,
            form_class=ReturnReceivedForm,
            bulk=False,
            note=_("The returned parcel arrived in good order (退件签收): the return is finished."),
            run=lambda obj, actor, **data: services.interception_confirm_return(order_id=obj.pk, actor=actor, **data),
            done=_("The return of interception %(obj)s is finished."),
        ),
        ObjectAction(
            "return_damaged",
            _("Returned parcel arrived damaged"),
            available=_can_confirm_return,
            form_class=ReturnDamagedForm,
            bulk=False,
            danger=True,
            note=_("The returned parcel arrived damaged: the return failed, and a damage claim can be filed."),
            run=lambda obj, actor, **data: services.interception_confirm_return(
                order_id=obj.pk, actor=actor, damaged=True, **data
            ),
            done=_("Interception %(obj)s: the parcel arrived damaged. File a damage claim with its photos."),
        ),
    ]

    def object_links(self, request, obj):
        """A return that failed is where a claim starts (R23)."""
        if obj.return_loss and request.user.has_perm("claims.add_claim"):
            kind = "damage" if obj.return_loss == InterceptionOrder.ReturnLoss.DAMAGED else "loss"  # the claim's kinds
            query = urlencode({"tracking_number": obj.tracking_number, "kind": kind})
            return [(_("File a claim"), reverse("admin:claims_claim_file") + "?" + query)]
        return []

    class Media:
        js = ["portal/autocomplete_filter.js"]

    @property
    def media(self):
        return super().media + AutocompleteSelect(InterceptionOrder._meta.get_field("outlet"), self.admin_site).media

    def lookup_allowed(self, lookup, value, request=None):
        # Links from an after-sale; the queryset is scoped whatever the id.
        return lookup == "after_sale__id__exact" or super().lookup_allowed(lookup, value, request)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export/", view(self.export_view), name="interception_interceptionorder_export")
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_export"] = request.user.has_perm("interception.export_interceptions")
        extra_context["export_query"] = request.GET.urlencode()
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """Every record the list's current filters select, as a streamed CSV (R20: filter by settlement mode)."""
        if not request.user.has_perm("interception.export_interceptions"):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request).order_by("id")
        fields = [name for name, _label in EXPORT_COLUMNS]
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        mode = request.GET.get("settlement_mode__exact", "all")
        name, header = f"interceptions-{mode}-{stamp}.csv", [str(label) for _name, label in EXPORT_COLUMNS]
        # PostgreSQL formats the rows, labels included; the same bytes as the Python path below.
        cells = [
            sql_csv.label(f, {k: v for k, v in EXPORT_LABELS[f].items() if k != ""}) if f in EXPORT_LABELS else f
            for f in fields
        ]
        lines = sql_csv.lines(queryset, cells)
        if lines is not None:
            return stream_csv_chunks(name, itertools.chain(csv_chunks([header]), lines))
        rows = queryset.values_list(*fields).iterator(chunk_size=2000)
        return stream_csv(name, header, _export_rows(rows, translation.get_language()))


_EXPORT_LABELS_BY_INDEX = {
    i: EXPORT_LABELS[name] for i, (name, _label) in enumerate(EXPORT_COLUMNS) if name in EXPORT_LABELS
}


def _export_rows(rows, language):
    """Streamed after the view returns: the labels keep the request's language."""
    with translation.override(language):
        for row in rows:
            yield _export_row(row)


def _export_row(row):
    row = list(row)
    for index, value in enumerate(row):
        if hasattr(value, "tzinfo") and value is not None:
            row[index] = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
        elif index in _EXPORT_LABELS_BY_INDEX and value != "":
            row[index] = str(_EXPORT_LABELS_BY_INDEX[index].get(value, value))
    return row


@admin.register(CarrierCall)
class CarrierCallAdmin(TrackingSearchMixin, ReadOnlyMixin, PortalAdmin):
    """Every request to a carrier's service and its answer, secrets redacted (kept CARRIER_LOG_DAYS)."""

    selector = selectors.carrier_call_list
    list_display = [
        "at",
        "carrier",
        "operation",
        "tracking_number",
        "interception_link",
        "outcome",
        "http_status",
        "service_code",
        "service_message",
        "latency_ms",
    ]
    list_filter = ["carrier", "operation", "outcome", ("at", DateRangeFilterBuilder(title=_("at")))]
    list_select_related = ["carrier"]
    ordering = ["-id"]
    readonly_fields = [
        "at",
        "carrier",
        "operation",
        "interception",
        "parcel",
        "tracking_number",
        "url",
        "outcome",
        "http_status",
        "latency_ms",
        "service_code",
        "service_message",
        "request",
        "response",
    ]
    fields = readonly_fields

    @admin.display(description=_("interception"), ordering="interception")
    def interception_link(self, obj):
        if obj.interception_id is None:
            return "—"
        url = reverse("admin:interception_interceptionorder_change", args=[obj.interception_id])
        return format_html('<a href="{}">#{}</a>', url, obj.interception_id)


class CarrierCallInline(ReadOnlyInline):
    """The interception's calls to its carrier's service, newest first."""

    model = CarrierCall
    fk_name = "interception"
    fields = ["at", "operation", "outcome", "http_status", "service_code", "service_message", "latency_ms"]
    ordering = ["-id"]
    verbose_name_plural = _("calls to the carrier's service")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("interception.view_carriercall")

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-id")


@admin.register(CarrierEvent)
class CarrierEventAdmin(TrackingSearchMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.carrier_event_list
    list_display = [
        "id",
        "carrier",
        "event_id",
        "kind",
        "tracking_number",
        "occurred_at",
        "received_at",
        "outcome",
        "detail",
    ]
    list_filter = ["outcome", "kind", "carrier"]
    list_select_related = ["carrier"]
    readonly_fields = [
        "carrier",
        "event_id",
        "kind",
        "tracking_number",
        "occurred_at",
        "received_at",
        "outcome",
        "detail",
        "payload",
    ]
