"""Finance's and outlet staff's screens: statements, reconciliation, the online fee ledger (R19-R22)."""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rangefilter.filters import DateRangeFilterBuilder

from interception.admin.search import by_merchant
from interception.models import Merchant, Outlet
from kernel.admin_actions import (
    ObjectAction,
    ObjectActionsMixin,
    RequiredReasonForm,
    can_transition,
)
from kernel.admin_base import (
    OutletFilter,
    PortalAdmin,
    ReadOnlyMixin,
    SearchMixin,
    TimelineMixin,
    TrackingSearchMixin,
    by_exact,
    money_column,
    reference_column,
)
from kernel.errors import DomainError
from kernel.spreadsheets import column_label, max_rows
from settlement import exports, selectors, services
from settlement.models import (
    BillFormat,
    Difference,
    OnlineFee,
    Reconciliation,
    Statement,
    StatementLine,
)


class SettleForm(forms.Form):
    payment_reference = forms.CharField(label=_("Payment reference"), max_length=100)
    paid_at = forms.DateTimeField(label=_("Paid at"), help_text=_("YYYY-MM-DD HH:MM, Asia/Shanghai"))
    paid_amount = forms.DecimalField(label=_("Amount paid (yuan)"), max_digits=14, decimal_places=2)
    difference_reason = forms.CharField(
        label=_("Reason for a different amount"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _run(service, **fixed):
    def run(obj, actor, **data):
        return service(statement_id=obj.pk, actor=actor, **fixed, **data)

    return run


STATE_LABELS = dict(Statement.State.choices)


@admin.register(Statement)
class StatementAdmin(SearchMixin, ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.statement_list
    list_display = [
        "number",
        "merchant",
        "outlet",
        "period",
        "state",
        money_column("total", _("total")),
        "issued_at",
    ]
    list_filter = ["state", OutletFilter, ("period_start", DateRangeFilterBuilder(title=_("period from")))]
    list_select_related = ["merchant", "outlet", "outlet__carrier"]
    search_by = [by_exact("reference"), by_merchant()]
    search_help_text = _("Statement reference (ST…), exact, or merchant code or name.")
    timeline_state_labels = STATE_LABELS
    fieldsets = [
        (None, {"fields": ["number", "state", "merchant", "outlet", "period_start", "period_end", "versions"]}),
        (_("Totals"), {"fields": ["line_count", "total", "lines_link", "reconciliations_link"]}),
        (_("Outlet's answer"), {"fields": ["issued_at", "answered_by", "answered_at", "dispute_reason"]}),
        (_("Payment"), {"fields": ["payment_reference", "paid_at", "paid_amount", "difference_reason"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
    ]
    readonly_fields = [
        "number",
        "state",
        "merchant",
        "outlet",
        "period_start",
        "period_end",
        "versions",
        "line_count",
        "total",
        "lines_link",
        "reconciliations_link",
        "issued_at",
        "answered_by",
        "answered_at",
        "dispute_reason",
        "payment_reference",
        "paid_at",
        "paid_amount",
        "difference_reason",
    ]
    object_actions = [
        ObjectAction(
            "issue",
            _("Issue to the outlet"),
            run=_run(services.statement_issue),
            available=can_transition("issue"),
            done=_("Statement %(obj)s issued to the outlet."),
        ),
        ObjectAction(
            # The outlet confirms or disputes a statement (R22): the buttons say so, as the dashboard and states do.
            "confirm",
            _("Confirm for the outlet"),
            run=_run(services.statement_confirm),
            available=can_transition("confirm"),
            done=_("Statement %(obj)s confirmed for the outlet."),
        ),
        ObjectAction(
            "dispute",
            _("Dispute for the outlet"),
            run=_run(services.statement_dispute),
            form_class=RequiredReasonForm,
            available=can_transition("dispute"),
            done=_("Statement %(obj)s disputed for the outlet: finance revises it."),
        ),
        ObjectAction(
            "settle",
            _("Record payment"),
            run=_run(services.statement_settle),
            form_class=SettleForm,
            available=can_transition("settle"),
            done=_("Payment of statement %(obj)s recorded."),
            bulk=False,
        ),
        ObjectAction(
            "void",
            _("Void"),
            run=_run(services.statement_void),
            form_class=RequiredReasonForm,
            available=can_transition("void"),
            danger=True,
        ),
    ]

    @admin.display(description=_("period"), ordering="period_start")
    def period(self, obj):
        return f"{obj.period_start:%Y-%m-%d} – {obj.period_end:%Y-%m-%d}"

    @admin.display(description=_("statement"), ordering="id")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("versions"))
    def versions(self, obj):
        chain, older = [], obj.previous
        while older is not None:
            chain.append(older)
            older = older.previous
        newer = Statement.objects.filter(previous=obj).first()
        links = [
            format_html(
                '<a href="{}">{}</a> ({})',
                reverse("admin:settlement_statement_change", args=[s.pk]),
                s.number,
                s.get_state_display(),
            )
            for s in [*([newer] if newer else []), *chain]
        ]
        return format_html("<br>".join(["{}"] * len(links)), *links) if links else "—"

    @admin.display(description=_("lines"))
    def lines_link(self, obj):
        url = reverse("admin:settlement_statementline_changelist") + f"?statement__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show the %(n)s lines") % {"n": obj.line_count})

    @admin.display(description=_("reconciliations"))
    def reconciliations_link(self, obj):
        count = obj.reconciliations.count()
        url = reverse("admin:settlement_reconciliation_changelist") + f"?statement__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("%(n)s reconciliations") % {"n": count})

    def object_links(self, request, obj):
        user, links = request.user, []
        if user.has_perm("settlement.export_statement"):
            for fmt in exports.FORMATS:
                links.append(
                    (
                        _("Download %(f)s") % {"f": fmt.upper()},
                        reverse("admin:settlement_statement_export", args=[obj.pk, fmt]),
                    )
                )
        if user.has_perm("settlement.reconcile_statement") and obj.is_current:
            links.append(
                (_("Reconcile the outlet's bill"), reverse("admin:settlement_statement_reconcile", args=[obj.pk]))
            )
        if can_transition("supersede")(obj, user):
            links.append(
                (_("New version with adjustments"), reverse("admin:settlement_statement_revise", args=[obj.pk]))
            )
        return links

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("generate/", view(self.generate_view), name="settlement_statement_generate"),
            path(
                "<int:object_id>/export/<slug:file_format>/", view(self.export_view), name="settlement_statement_export"
            ),
            path("<int:object_id>/reconcile/", view(self.reconcile_view), name="settlement_statement_reconcile"),
            path("<int:object_id>/revise/", view(self.revise_view), name="settlement_statement_revise"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_generate"] = request.user.has_perm("settlement.generate_statement")
        return super().changelist_view(request, extra_context)

    def export_view(self, request, object_id, file_format):
        try:
            return exports.statement_export(statement_id=object_id, actor=request.user, file_format=file_format)
        except DomainError as exc:
            if exc.status == 403:
                raise PermissionDenied from None
            raise Http404(str(exc.message)) from None

    def _form_page(self, request, *, title, form, obj=None, intro="", refused=None, extra=None):
        change_url = reverse("admin:settlement_statement_change", args=[obj.pk]) if obj is not None else None
        return self.render_page(
            request,
            "admin/portal/form_page.html",
            title=title,
            form=form,
            original=obj,
            intro=intro,
            refused=refused,
            change_url=change_url,
            **(extra or {}),
        )

    def generate_view(self, request):
        if not request.user.has_perm("settlement.generate_statement"):
            raise PermissionDenied
        form = GenerateForm(request.POST or None, admin_site=self.admin_site)
        results, refused = None, None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["merchant"]:
                    results = [
                        services.statement_generate(
                            actor=request.user,
                            merchant=data["merchant"],
                            outlet=data["outlet"],
                            period_start=data["period_start"],
                            period_end=data["period_end"],
                        )
                    ]
                else:
                    results = services.statement_generate_all(
                        actor=request.user, period_start=data["period_start"], period_end=data["period_end"]
                    )
            except DomainError as exc:
                refused = exc
        return self._form_page(
            request,
            title=_("Generate statements"),
            form=form,
            refused=refused,
            intro=_(
                "Gathers the chargeable offline interceptions whose result falls in the "
                "period and that are on no statement yet. Leave merchant and outlet empty to "
                "generate for every merchant × outlet."
            ),
            extra={
                "results": _result_links(results),
                "submit_label": _("Generate"),
                "no_results": _(
                    "Nothing new to add for this period: every chargeable interception is on a statement already."
                ),
            },
        )

    def reconcile_view(self, request, object_id):
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        if not request.user.has_perm("settlement.reconcile_statement"):
            raise PermissionDenied
        form = BillForm(request.POST or None, request.FILES or None)
        refused = None
        if request.method == "POST" and form.is_valid():
            try:
                reconciliation = services.reconciliation_run(
                    statement_id=obj.pk, actor=request.user, uploaded=form.cleaned_data["bill"]
                )
            except DomainError as exc:
                refused = exc
            else:
                messages.success(request, _("The bill was reconciled: %(n)s lines.") % {"n": reconciliation.bill_lines})
                return HttpResponseRedirect(reverse("admin:settlement_reconciliation_change", args=[reconciliation.pk]))
        columns = services.bill_columns(obj.outlet.carrier_id)
        return self._form_page(
            request,
            title=_("Reconcile the outlet's bill: %(s)s") % {"s": obj.number},
            form=form,
            obj=obj,
            refused=refused,
            extra={"submit_label": _("Reconcile"), "multipart": True},
            intro=_(
                "CSV (UTF-8 or GB18030) or XLSX, at most 10 MB and %(n)s rows, with the "
                "columns %(c)s. A file with any bad row is refused whole."
            )
            % {"c": "、".join(column_label(c) for c in columns), "n": f"{max_rows():,}"},
        )

    def revise_view(self, request, object_id):
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        if not request.user.has_perm("settlement.issue_statement"):
            raise PermissionDenied
        form = ReviseForm(request.POST or None)
        formset = AdjustmentFormSet(request.POST or None, prefix="adj")
        refused = None
        if request.method == "POST" and form.is_valid() and formset.is_valid():
            adjustments = [f.cleaned_data for f in formset if f.cleaned_data and f.cleaned_data.get("amount")]
            try:
                new = services.statement_revise(
                    statement_id=obj.pk, actor=request.user, adjustments=adjustments, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                refused = exc
            else:
                messages.success(
                    request, _("%(n)s issued; %(o)s is kept, superseded.") % {"n": new.number, "o": obj.number}
                )
                return HttpResponseRedirect(reverse("admin:settlement_statement_change", args=[new.pk]))
        return self._form_page(
            request,
            title=_("New version of %(s)s") % {"s": obj.number},
            form=form,
            obj=obj,
            refused=refused,
            extra={"formset": formset, "submit_label": _("Issue the new version")},
            intro=_(
                "The lines are copied to a new version with these adjustments and issued to "
                "the outlet; this version stays readable. Amounts are signed: -2.00 lowers "
                "the total. Dispute: %(d)s"
            )
            % {"d": obj.dispute_reason or "—"},
        )


def _result_links(results):
    if results is None:
        return None
    return [
        (r.message, reverse("admin:settlement_statement_change", args=[r.statement.pk]) if r.statement else None)
        for r in results
    ]


class GenerateForm(forms.Form):
    # Shown as the help text says, whatever the language's own date format.
    period_start = forms.DateField(
        label=_("Period from"), help_text=_("as 2026-11-01"), widget=forms.DateInput(format="%Y-%m-%d")
    )
    period_end = forms.DateField(
        label=_("Period until (inclusive)"), help_text=_("as 2026-11-01"), widget=forms.DateInput(format="%Y-%m-%d")
    )
    merchant = forms.ModelChoiceField(queryset=None, required=False, label=_("Merchant"))
    outlet = forms.ModelChoiceField(queryset=None, required=False, label=_("Outlet"))

    def __init__(self, *args, admin_site, **kwargs):
        initial = kwargs.setdefault("initial", {})
        today = timezone.localdate()
        last_month_end = today.replace(day=1) - date.resolution
        initial.setdefault("period_start", last_month_end.replace(day=1))
        initial.setdefault("period_end", last_month_end)
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = Merchant.objects.all()
        self.fields["outlet"].queryset = Outlet.objects.all()
        for name in ("merchant", "outlet"):
            self.fields[name].widget = AutocompleteSelect(Statement._meta.get_field(name), admin_site)
            self.fields[name].widget.choices = self.fields[name].choices

    def clean(self):
        data = super().clean()
        if bool(data.get("merchant")) != bool(data.get("outlet")):
            raise forms.ValidationError(_("Choose both a merchant and an outlet, or neither (every pair)."))
        return data


class BillForm(forms.Form):
    bill = forms.FileField(label=_("The outlet's bill (CSV or XLSX)"))


class ReviseForm(forms.Form):
    reason = forms.CharField(label=_("Answer to the outlet"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AdjustmentForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number (optional)"), required=False, max_length=40)
    amount = forms.DecimalField(label=_("Amount (yuan, signed)"), required=False, max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


AdjustmentFormSet = forms.formset_factory(AdjustmentForm, extra=5, max_num=50)


class ParentLinkMixin:
    """Lists reached from their parent's page by a link filtering on `parent_lookup` (no filter widget for it)."""

    parent_lookup = ""

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == self.parent_lookup or super().lookup_allowed(lookup, value, request)


@admin.register(StatementLine)
class StatementLineAdmin(ParentLinkMixin, TrackingSearchMixin, ReadOnlyMixin, PortalAdmin):
    parent_lookup = "statement__id__exact"
    selector = selectors.statement_line_list
    list_display = [
        "id",
        "statement",
        "kind",
        "tracking_number",
        "occurred_at",
        "result",
        money_column("amount", _("amount (yuan)")),
        "return_shipping",
        "reason",
        reference_column("interception_id", _("interception")),
    ]
    list_filter = ["kind"]
    list_select_related = ["statement", "interception"]
    list_per_page = 100

    @admin.display(description=_("return shipping"))
    def return_shipping(self, obj):
        return obj.interception.return_shipping if obj.interception else ""


@admin.register(Reconciliation)
class ReconciliationAdmin(ParentLinkMixin, ReadOnlyMixin, PortalAdmin):
    parent_lookup = "statement__id__exact"
    selector = selectors.reconciliation_list
    list_display = [
        "id",
        "statement",
        "file_name",
        "uploaded_by",
        "uploaded_at",
        "bill_lines",
        "bill_total",
        "statement_total",
    ]
    list_select_related = ["statement", "statement__merchant", "statement__outlet", "uploaded_by"]
    change_form_template = "admin/settlement/reconciliation/change_form.html"
    readonly_fields = [
        "statement",
        "file_name",
        "uploaded_by",
        "uploaded_at",
        "bill_lines",
        "bill_total",
        "statement_total",
    ]

    def get_urls(self):
        return [
            path(
                "<int:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="settlement_reconciliation_export",
            )
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context["summary"] = selectors.reconciliation_summary(obj)
            extra_context["differences"] = obj.differences.exclude(kind=Difference.Kind.MATCHED).order_by("kind", "id")[
                :200
            ]
            extra_context["differences_url"] = (
                reverse("admin:settlement_difference_changelist") + f"?reconciliation__id__exact={obj.pk}"
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def export_view(self, request, object_id):
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        return exports.reconciliation_export(obj)


@admin.register(Difference)
class DifferenceAdmin(ParentLinkMixin, TrackingSearchMixin, ReadOnlyMixin, PortalAdmin):
    parent_lookup = "reconciliation__id__exact"
    selector = selectors.difference_list
    list_display = [
        "reconciliation",
        "kind",
        "row",
        "tracking_number",
        "billed_on",
        money_column("their_fee", _("their fee")),
        money_column("our_fee", _("our fee")),
        money_column("contract_fee", _("contract fee")),
        reference_column("interception_id", _("interception")),
        "detail",
    ]
    list_filter = ["kind"]
    list_select_related = ["reconciliation", "reconciliation__statement"]
    list_per_page = 100


@admin.register(OnlineFee)
class OnlineFeeAdmin(SearchMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.online_fee_list
    search_by = [by_merchant()]
    search_help_text = _("Merchant code or name.")
    list_display = [
        reference_column("interception_id", _("interception")),
        "month",
        "platform",
        "carrier",
        "outlet",
        "merchant",
        money_column("collected", _("collected")),
        money_column("passed_on", _("passed on")),
    ]
    list_filter = ["platform", "carrier", OutletFilter]
    list_select_related = ["platform", "carrier", "outlet", "merchant"]
    change_list_template = "admin/settlement/onlinefee/change_list.html"

    def get_urls(self):
        return [
            path("totals/", self.admin_site.admin_view(self.totals_view), name="settlement_onlinefee_totals")
        ] + super().get_urls()

    def totals_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = list(selectors.online_fee_totals(request.user))
        for row in rows:
            row["balanced"] = row["collected"] == row["passed_on"]
        return self.render_page(
            request,
            "admin/settlement/onlinefee/totals.html",
            rows=rows,
            title=_("Online fees per month, carrier and platform"),
        )


@admin.register(BillFormat)
class BillFormatAdmin(admin.ModelAdmin):
    list_display = ["carrier", "tracking_column", "date_column", "fee_column"]
    autocomplete_fields = ["carrier"]
