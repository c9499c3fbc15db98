"""Admin for outlet contracts: apply, the outlet staff's review queue, buttons, bulk, the decision file."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import resources, rules, selectors, services
from interception.models import (
    Carrier,
    Contract,
    ContractFee,
    FeeAmendment,
    Merchant,
    Outlet,
    Platform,
    SettlementMode,
)
from interception.services import nudges
from kernel import inputs
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
    TimelineMixin,
    money_column,
)
from kernel.errors import DomainError
from kernel.spreadsheets import max_rows, write_table

WAITING_CHOICES = [1, 3, 7, 14]
IMPORT_PAGE = "admin/interception/contract/import.html"


class WaitingFilter(admin.SimpleListFilter):
    """The approval reminder: pending applications waiting longer than N days."""

    title = _("waiting")
    parameter_name = "waiting_days"

    def lookups(self, request, model_admin):
        return [(str(n), _("pending more than %(n)s days") % {"n": n}) for n in WAITING_CHOICES]

    def queryset(self, request, queryset):
        if inputs.is_id(self.value()):
            return queryset.filter(selectors.waiting_longer_than(int(self.value())))
        return queryset


class ContractStateFilter(DefaultChoiceFilter):
    """The outlet's queue opens on what waits for its decision."""

    title = _("state")
    parameter_name = "state__exact"
    default = Contract.State.PENDING

    def lookups(self, request, model_admin):
        return Contract.State.choices

    def filter(self, queryset, value):
        return queryset.filter(state=value)


class CarrierFilter(admin.SimpleListFilter):
    title = _("carrier")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return [(c.code, c.name) for c in Carrier.objects.all()]

    def queryset(self, request, queryset):
        return queryset.filter(outlet__carrier__code=self.value()) if self.value() else queryset


class NewFeeForm(forms.Form):
    new_fee = forms.DecimalField(label=_("new fee (yuan)"), min_value=0, decimal_places=2, max_digits=12)


class ApplyForm(forms.Form):
    merchant = forms.ModelChoiceField(Merchant.objects.all(), label=_("merchant"))
    platform = forms.ModelChoiceField(Platform.objects.all(), label=_("platform"))
    carrier = forms.ModelChoiceField(Carrier.objects.all(), label=_("carrier"))
    outlets = forms.ModelMultipleChoiceField(Outlet.objects.all(), label=_("outlets"))
    mode = forms.ChoiceField(choices=SettlementMode.choices, label=_("settlement mode"))
    fee = forms.DecimalField(
        label=_("fee per interception (yuan)"),
        required=False,
        max_digits=14,
        help_text=_(
            "Offline: the fee negotiated with the outlet. Online: the platform's fee applies whatever you enter."
        ),
    )
    fee_return_outlet = forms.DecimalField(
        label=_("fee back to the sending outlet (yuan)"),
        required=False,
        max_digits=14,
        help_text=_("Offline, where the carrier can send an intercepted parcel back to the outlet. Empty: the fee."),
    )
    fee_reroute = forms.DecimalField(
        label=_("fee to a new address (yuan)"),
        required=False,
        max_digits=14,
        help_text=_("Offline, where the carrier can reroute an intercepted parcel (改址). Empty: the fee."),
    )
    fee_includes_return = forms.BooleanField(
        label=_("the fee includes return shipping"),
        required=False,
        help_text=_(
            "Offline: whether the negotiated fee also pays for shipping the parcel back; otherwise the outlet "
            "charges it separately. Online: the platform's fee always includes it."
        ),
    )
    charge_failed = forms.BooleanField(label=_("also charge failed interceptions"), required=False)

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"].widget = AutocompleteSelect(Contract._meta.get_field("merchant"), admin_site)
        self.fields["outlets"].widget = AutocompleteSelectMultiple(Contract._meta.get_field("outlet"), admin_site)
        for name in ("merchant", "outlets"):
            self.fields[name].widget.choices = self.fields[name].choices

    def clean(self):
        data = super().clean()
        carrier, outlets = data.get("carrier"), data.get("outlets") or []
        wrong = [o for o in outlets if carrier and o.carrier_id != carrier.pk]
        if wrong:
            self.add_error(
                "outlets", _("Not outlets of %(c)s: %(o)s") % {"c": carrier, "o": ", ".join(map(str, wrong))}
            )
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("decision file (CSV or XLSX)"))


class ContractFeeInline(ReadOnlyInline):
    model = ContractFee
    fields = ["fee", "effective_from", "amendment"]
    verbose_name_plural = _("fee history")


def _run_close(obj, actor, reason):
    services.contract_close(contract_id=obj.pk, actor=actor, reason=reason)


def _run_amend(obj, actor, new_fee):
    services.contract_amend_fee(contract_id=obj.pk, new_fee=new_fee, actor=actor)


def _decide_many(kind, action):
    """A bulk action's `run_many`: the selected objects decided as one set; each is refused on its own."""

    def run_many(objects, actor, reason=""):
        decisions = [services.Decision(kind, obj.pk, action, reason, key=obj) for obj in objects]
        outcomes = services.decisions_apply(decisions=decisions, actor=actor, all_or_nothing=False)
        return [
            (d.key, True, _("done")) if error is None else (d.key, False, describe_error(error))
            for d, _obj, error in outcomes
        ]

    return run_many


def _can_amend(obj, user):
    return user.has_perm("interception.amend_contract_fee") and not rules.fee_change_problems(obj)


@admin.register(Contract)
class ContractAdmin(ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.contract_list
    # The queue's deciding columns in view (down to a phone's width); carrier and platform are filters.
    list_display = [
        "id",
        "merchant",
        "outlet",
        "settlement_mode",
        money_column("fee", _("fee")),
        "state",
        "applied_at",
        "waiting",
    ]
    list_filter = [ContractStateFilter, WaitingFilter, "platform", CarrierFilter, OutletFilter, "settlement_mode"]
    list_select_related = ["merchant", "outlet", "outlet__carrier", "platform"]
    search_fields = ["=merchant__code", "=outlet__code", "merchant__name"]
    readonly_fields = [
        "merchant",
        "outlet",
        "platform",
        "settlement_mode",
        "fee",
        "fee_return_outlet",
        "fee_reroute",
        "return_shipping",
        "charge_succeeded",
        "charge_failed",
        "state",
        "applied_by",
        "applied_at",
        "decided_by",
        "decided_at",
        "reject_reason",
        "closed_by",
        "closed_at",
        "close_reason",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "state",
                    "merchant",
                    "outlet",
                    "platform",
                    "settlement_mode",
                    "fee",
                    "fee_return_outlet",
                    "fee_reroute",
                    "return_shipping",
                    "charge_succeeded",
                    "charge_failed",
                ]
            },
        ),
        (_("Application"), {"fields": ["applied_by", "applied_at", "decided_by", "decided_at", "reject_reason"]}),
        (_("Closing"), {"fields": ["closed_by", "closed_at", "close_reason"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
    ]
    inlines = [ContractFeeInline]
    timeline_state_labels = dict(Contract.State.choices)
    object_actions = [
        ObjectAction(
            "approve",
            _("Approve"),
            available=can_transition("approve"),
            form_class=ReasonForm,
            run=lambda obj, actor, reason: services.contract_approve(contract_id=obj.pk, actor=actor, reason=reason),
            run_many=_decide_many(services.APPLICATION, services.APPROVE),
            done=_("Application %(obj)s approved: the contract is active."),
        ),
        ObjectAction(  # at most once per NUDGE_HOURS, on the timeline (docs/notifications.md)
            "nudge",
            _("Remind the outlet"),
            available=nudges.contract_nudge_allowed,
            run=lambda obj, actor: nudges.contract_nudge(contract_id=obj.pk, actor=actor),
        ),
        ObjectAction(
            "reject",
            _("Reject"),
            available=can_transition("reject"),
            form_class=RequiredReasonForm,
            danger=True,
            run=lambda obj, actor, reason: services.contract_reject(contract_id=obj.pk, actor=actor, reason=reason),
            run_many=_decide_many(services.APPLICATION, services.REJECT),
            done=_("Application %(obj)s rejected."),
        ),
        ObjectAction(
            "close",
            _("Close the service"),
            available=can_transition("close"),
            form_class=RequiredReasonForm,
            danger=True,
            bulk=False,
            run=_run_close,
            done=_("Contract %(obj)s closed."),
        ),
        ObjectAction(
            "amend", _("Change the fee"), available=_can_amend, form_class=NewFeeForm, bulk=False, run=_run_amend
        ),
    ]

    def get_ordering(self, request):
        # The queue is worked oldest first (first come, first decided); history reads newest first.
        if request.GET.get(ContractStateFilter.parameter_name, ContractStateFilter.default) == Contract.State.PENDING:
            return ["applied_at", "id"]
        return ["-applied_at", "-id"]

    @admin.display(description=_("carrier"), ordering="outlet__carrier")
    def carrier(self, obj):
        return obj.outlet.carrier

    @admin.display(description=_("return shipping"))
    def return_shipping(self, obj):
        return obj.return_shipping

    @admin.display(description=_("waiting"))
    def waiting(self, obj):
        if obj.waiting_since is None:
            return "—"
        days = (timezone.now() - obj.waiting_since).days
        return _("%(d)s days") % {"d": days}

    def lookup_allowed(self, lookup, value, request=None):
        # The per-outlet reminder links here; the queryset is scoped whatever the id.
        return lookup == "outlet__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return request.user.has_perm("interception.apply_contract")

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:interception_contract_apply"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("apply/", view(self.apply_view), name="interception_contract_apply"),
            path("decisions/export/", view(self.export_view), name="interception_contract_export"),
            path("decisions/import/", view(self.import_view), name="interception_contract_import"),
            path("pending-by-outlet/", view(self.pending_by_outlet_view), name="interception_contract_pending"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_decide"] = request.user.has_perm("interception.decide_contract")
        return super().changelist_view(request, extra_context)

    change_list_template = "admin/interception/contract/change_list.html"

    def apply_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApplyForm(request.POST or None, admin_site=self.admin_site)
        outcomes = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                outcomes = services.contract_apply(
                    merchant=data["merchant"],
                    platform=data["platform"],
                    outlets=data["outlets"],
                    mode=data["mode"],
                    fee=data["fee"],
                    actor=request.user,
                    charge_failed=data["charge_failed"],
                    fee_includes_return=data["fee_includes_return"],
                    mode_fees={name: data[name] for name in rules.MODE_FEES},
                )
            except DomainError as exc:
                messages.error(request, exc.message)
        return self.render_page(
            request,
            "admin/interception/contract/apply.html",
            title=_("Apply for outlet contracts"),
            form=form,
            outcomes=outcomes,
            media=self.media + form.media,
        )

    def export_view(self, request):
        if not request.user.has_perm("interception.decide_contract"):
            raise PermissionDenied
        file_format = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
        content, content_type = write_table(
            resources.headers(), resources.export_rows(request.user), file_format, title=_("Pending applications")
        )
        response = HttpResponse(content, content_type=content_type)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="pending-applications-{stamp}.{file_format}"'
        return response

    def import_view(self, request):
        if not request.user.has_perm("interception.decide_contract"):
            raise PermissionDenied
        context = {"title": _("Import decisions"), "form": ImportForm(), "max_rows": f"{max_rows():,}"}
        if request.method != "POST":
            return self.render_page(request, IMPORT_PAGE, **context)
        try:
            if request.POST.get("confirm"):
                result, _name = resources.confirm(request.user, request.POST.get("token", ""))
                messages.success(
                    request,
                    _(
                        "Decisions applied: %(a)s approved, %(r)s rejected, %(u)s already "
                        "decided so (no change), %(l)s left pending."
                    )
                    % {
                        "a": result.count(resources.APPROVE),
                        "r": result.count(resources.REJECT),
                        "u": result.count(resources.UNCHANGED),
                        "l": result.count(resources.LEAVE),
                    },
                )
                if not result.count(resources.APPROVE) and not result.count(resources.REJECT):
                    messages.warning(request, _("This file changed nothing: every decision in it was already made."))
                return HttpResponseRedirect(reverse("admin:interception_contract_changelist"))
            form = ImportForm(request.POST, request.FILES)
            context["form"] = form
            if not form.is_valid():
                return self.render_page(request, IMPORT_PAGE, **context)
            uploaded = form.cleaned_data["file"]
            result, token = resources.preview(request.user, uploaded)
        except DomainError as exc:
            context["refused"] = exc
            return self.render_page(request, IMPORT_PAGE, **context)
        context.update(
            plan=result,
            name=uploaded.name,
            token=token,
            changes=result.count(resources.APPROVE) + result.count(resources.REJECT),
        )
        return self.render_page(request, IMPORT_PAGE, **context)

    def pending_by_outlet_view(self, request):
        rows = list(selectors.pending_by_outlet(request.user)[:500])
        return self.render_page(
            request,
            "admin/interception/contract/pending_by_outlet.html",
            title=_("Pending applications per outlet"),
            rows=rows,
        )


@admin.register(FeeAmendment)
class FeeAmendmentAdmin(ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.amendment_list
    list_display = [
        "id",
        "contract",
        money_column("old_fee", _("old fee")),
        money_column("new_fee", _("new fee")),
        "state",
        "requested_at",
    ]
    list_filter = ["state"]
    list_select_related = ["contract", "contract__merchant", "contract__outlet"]
    search_fields = ["=contract__merchant__code", "=contract__outlet__code", "contract__merchant__name"]
    readonly_fields = [
        "contract",
        "old_fee",
        "new_fee",
        "state",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "reject_reason",
    ]
    timeline_state_labels = dict(FeeAmendment.State.choices)
    object_actions = [
        ObjectAction(
            "approve",
            _("Approve"),
            available=can_transition("approve"),
            form_class=ReasonForm,
            run=lambda obj, actor, reason: services.amendment_approve(amendment_id=obj.pk, actor=actor, reason=reason),
            run_many=_decide_many(services.FEE_CHANGE, services.APPROVE),
        ),
        ObjectAction(
            "reject",
            _("Reject"),
            available=can_transition("reject"),
            form_class=RequiredReasonForm,
            danger=True,
            run=lambda obj, actor, reason: services.amendment_reject(amendment_id=obj.pk, actor=actor, reason=reason),
            run_many=_decide_many(services.FEE_CHANGE, services.REJECT),
        ),
    ]
