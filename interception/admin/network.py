"""Admin for the network: platforms, carriers, outlets, merchants, e-waybill accounts, staff, API clients."""

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from interception import carriers, master_data, selectors, services
from interception.admin import credentials
from interception.models import (
    ApiClient,
    ApiToken,
    Carrier,
    EwaybillAccount,
    GoodsCategory,
    InterceptionAgreement,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
    PlatformCarrier,
)
from kernel.admin_actions import ObjectAction, ObjectActionsMixin
from kernel.admin_base import PortalAdmin, ReadOnlyInline, ReadOnlyMixin, TimelineMixin
from kernel.admin_imports import PortalImportExportMixin
from kernel.timeline import render as render_timeline


class PlatformForm(forms.ModelForm):
    blocked_categories = forms.MultipleChoiceField(
        label=_("blocked goods categories"),
        choices=GoodsCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Platform
        fields = "__all__"  # noqa: DJ007 - a supervisor's form for every setting of the platform


class PlatformCarrierInline(admin.TabularInline):
    model = PlatformCarrier
    extra = 0
    autocomplete_fields = ["carrier"]


@admin.register(Platform)
class PlatformAdmin(PortalAdmin):
    selector = selectors.platform_list
    form = PlatformForm
    list_display = [
        "code",
        "name",
        "handling_window_days",
        "refuse_after_days",
        "refund_cap_applies",
        "refund_cap",
        "multi_parcel_allowed",
        "online_fee",
    ]
    search_fields = ["code", "name"]
    inlines = [PlatformCarrierInline]
    fieldsets = [
        (None, {"fields": ["code", "name"]}),
        (
            _("Interception limits"),
            {"fields": ["refund_cap_applies", "refund_cap", "blocked_categories", "multi_parcel_allowed"]},
        ),
        (
            _("Windows"),
            {
                "fields": [
                    "handling_window_days",
                    "refuse_after_days",
                    "claim_window_start_days",
                    "claim_window_end_days",
                    "claim_candidate_days",
                ]
            },
        ),
        (_("Money"), {"fields": ["online_fee", "claim_cap"]}),
    ]


def _carrier_fields(adapter):
    return adapter.carrier_fields


def _account_fields(adapter):
    return adapter.account_fields


class CarrierForm(forms.ModelForm):
    """The carrier, the adapter that speaks its service and that adapter's credentials (write-only)."""

    adapter = forms.ChoiceField(label=_("adapter"), help_text=_("Which carrier integration submits interceptions."))

    class Meta:
        model = Carrier
        fields = ["code", "name", "adapter", "service_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adapter"].choices = [(a.code, a.label) for a in credentials.adapter_classes()]
        self.credential_groups = credentials.add_fields(
            self, credentials.adapter_classes(), _carrier_fields, self.instance
        )

    def clean(self):
        data = super().clean()
        adapter = carriers.adapter_class(data.get("adapter"))
        if adapter is not None:
            credentials.check(
                self, self.instance, adapter, _carrier_fields, lambda a, probe: a().config_problems(probe)
            )
        return data

    def save(self, commit=True):
        carrier = super().save(commit=False)
        typed = credentials.entered(self, carriers.adapter_class(carrier.adapter), _carrier_fields)
        if any(typed.values()):
            carrier.set_credentials(typed)
        if commit:
            carrier.save()
        return carrier


class AdapterFilter(admin.SimpleListFilter):
    title = _("adapter")
    parameter_name = "adapter"

    def lookups(self, request, model_admin):
        return [(a.code, a.label) for a in credentials.adapter_classes()]

    def queryset(self, request, queryset):
        return queryset.filter(adapter=self.value()) if self.value() else queryset


@admin.register(Carrier)
class CarrierAdmin(PortalAdmin):
    selector = selectors.carrier_list
    form = CarrierForm
    list_display = ["code", "name", "adapter_label", "service_code", "credentials_set_at"]
    list_filter = [AdapterFilter]
    search_fields = ["code", "name"]
    readonly_fields = ["credentials_status"]

    def get_form(self, request, obj=None, **kwargs):
        # The credential fields are the form's own (added per adapter), not the model's.
        return super().get_form(request, obj, **{**kwargs, "fields": CarrierForm.Meta.fields})

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["code", "name", "adapter", "service_code"]})]
        if not request.user.has_perm("interception.change_carrier"):
            return fieldsets  # who may only look sees neither the credential fields nor their state
        fieldsets.append((_("Credentials"), {"fields": ["credentials_status"]}))
        form = CarrierForm(instance=obj)
        for adapter in credentials.adapter_classes():
            if names := form.credential_groups[adapter.code]:
                fieldsets.append(
                    (
                        _("%(a)s credentials") % {"a": adapter.label},
                        {
                            "fields": names,
                            "classes": [] if obj is not None and obj.adapter == adapter.code else ["collapse"],
                            "description": _("Used only when the carrier's adapter is %(a)s.") % {"a": adapter.label},
                        },
                    )
                )
        return fieldsets

    @admin.display(description=_("adapter"), ordering="adapter")
    def adapter_label(self, obj):
        adapter = carriers.adapter_class(obj.adapter)
        return adapter.label if adapter is not None else (obj.adapter or "—")

    @admin.display(description=_("credentials"))
    def credentials_status(self, obj):
        adapter = carriers.adapter_class(obj.adapter) if obj else None
        if adapter is None:
            return _("The adapter %(a)s does not exist.") % {"a": getattr(obj, "adapter", "")} if obj else "—"
        return credentials.status(obj, adapter, _carrier_fields)


@admin.register(PlatformCarrier)
class PlatformCarrierAdmin(PortalAdmin):
    selector = selectors.platform_carrier_list
    list_display = [
        "platform",
        "carrier",
        "interception_offered",
        "online_mode",
        "offline_mode",
        "approval_required",
        "open_by_default",
    ]
    list_filter = ["platform", "carrier", "interception_offered", "offline_mode", "approval_required"]
    list_select_related = ["platform", "carrier"]


@admin.register(Outlet)
class OutletAdmin(PortalImportExportMixin, PortalAdmin):
    selector = selectors.outlet_list
    resource_classes = [master_data.OutletResource]
    list_display = ["code", "name", "carrier", "region"]
    list_filter = ["carrier"]
    list_select_related = ["carrier"]
    search_fields = ["code", "name", "region"]
    autocomplete_fields = ["carrier"]


class EwaybillInline(admin.TabularInline):
    model = EwaybillAccount
    extra = 0
    autocomplete_fields = ["outlet"]
    fields = ["outlet", "platform", "active"]

    def get_queryset(self, request):
        return selectors.ewaybill_account_list(request.user)


class AgreementInline(ReadOnlyInline):
    model = InterceptionAgreement
    fields = ["platform", "signed_at", "signed_by"]
    verbose_name_plural = _("interception agreements")


def _sign_agreement(obj, actor):
    services.agreement_sign(merchant=obj, platform=obj.platform, actor=actor)


def _can_sign(obj, user):
    return user.has_perm("interception.sign_agreement") and not obj.agreements.filter(platform=obj.platform_id).exists()


@admin.register(Merchant)
class MerchantAdmin(PortalImportExportMixin, ObjectActionsMixin, PortalAdmin):
    selector = selectors.merchant_list
    resource_classes = [master_data.MerchantResource]
    list_display = ["code", "name", "platform", "cross_border", "operating_status", "auto_intercept"]
    list_filter = ["platform", "cross_border", "operating_status", "auto_intercept"]
    list_select_related = ["platform"]
    search_fields = ["code", "name"]
    inlines = [EwaybillInline, AgreementInline]
    object_actions = [
        ObjectAction(
            "sign-agreement", _("Record the agreement as signed"), run=_sign_agreement, available=_can_sign, bulk=False
        )
    ]


class EwaybillAccountForm(forms.ModelForm):
    """An outlet's e-waybill account and the credentials its carrier's adapter needs with it (write-only)."""

    class Meta:
        model = EwaybillAccount
        fields = ["merchant", "outlet", "platform", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.credential_groups = credentials.add_fields(
            self, credentials.adapter_classes(), _account_fields, self.instance
        )

    def _adapter(self, outlet):
        return carriers.adapter_class(outlet.carrier.adapter) if outlet is not None else None

    def clean(self):
        data = super().clean()
        adapter = self._adapter(data.get("outlet"))
        if adapter is not None and data.get("active"):
            credentials.check(
                self, self.instance, adapter, _account_fields, lambda a, probe: a().account_problems(probe)
            )
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        adapter = self._adapter(account.outlet)
        typed = credentials.entered(self, adapter, _account_fields) if adapter else {}
        if any(typed.values()):
            account.set_credentials(typed)
        if commit:
            account.save()
        return account


@admin.register(EwaybillAccount)
class EwaybillAccountAdmin(PortalImportExportMixin, PortalAdmin):
    selector = selectors.ewaybill_account_list
    form = EwaybillAccountForm
    resource_classes = [master_data.EwaybillAccountResource]
    list_display = ["merchant", "outlet", "platform", "active", "opened_at", "credentials_set_at"]
    list_filter = ["platform", "active", "outlet__carrier"]
    list_select_related = ["merchant", "outlet", "platform"]
    search_fields = ["merchant__code", "merchant__name", "outlet__code"]
    autocomplete_fields = ["merchant", "outlet"]
    readonly_fields = ["credentials_status"]

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, **{**kwargs, "fields": EwaybillAccountForm.Meta.fields})

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["merchant", "outlet", "platform", "active"]})]
        if not request.user.has_perm("interception.change_ewaybillaccount"):
            return fieldsets
        form = EwaybillAccountForm(instance=obj)
        current = obj.outlet.carrier.adapter if obj is not None else None
        groups = [(a, form.credential_groups[a.code]) for a in credentials.adapter_classes()]
        groups = [(a, names) for a, names in groups if names and (current is None or a.code == current)]
        if groups:
            fieldsets.append((_("Credentials"), {"fields": ["credentials_status"]}))
        for adapter, names in groups:
            fieldsets.append((_("%(a)s credentials") % {"a": adapter.label}, {"fields": names}))
        return fieldsets

    @admin.display(description=_("credentials"))
    def credentials_status(self, obj):
        if obj is None:
            return "—"
        adapter = carriers.adapter_class(obj.outlet.carrier.adapter)
        return credentials.status(obj, adapter, _account_fields) if adapter else "—"


@admin.register(OutletMembership)
class OutletMembershipAdmin(PortalAdmin):
    selector = selectors.membership_list
    list_display = ["user", "outlet"]
    list_filter = ["outlet__carrier"]
    list_select_related = ["user", "outlet"]
    search_fields = ["user__username", "outlet__code", "outlet__name"]
    autocomplete_fields = ["user", "outlet"]


def _may_manage_tokens(user):
    return user.has_perm(services.tokens.MANAGE)


def _has_token(client):
    return client.user.api_tokens.filter(revoked_at__isnull=True).exists()


TOKEN_SHOWN_ONCE = "admin/interception/apitoken_issued.html"  # noqa: S105 - a template name
TOKENS_LISTED = 20


@admin.register(ApiClient)
class ApiClientAdmin(ObjectActionsMixin, TimelineMixin, admin.ModelAdmin):
    """Only supervisors see API clients, and with them their tokens (portal/roles.py)."""

    list_display = ["name", "user", "merchant", "carrier"]
    list_select_related = ["user", "merchant", "carrier"]
    search_fields = ["name", "user__username", "merchant__code", "merchant__name"]
    autocomplete_fields = ["user", "merchant", "carrier"]
    object_actions = [
        ObjectAction(
            "issue-token",
            _("Issue an API token"),
            run=lambda client, actor: services.api_token_issue(client=client, actor=actor),
            available=lambda client, user: _may_manage_tokens(user) and not _has_token(client),
            bulk=False,
            result_template=TOKEN_SHOWN_ONCE,
            note=_("The token is shown once, on the next page: the portal keeps only its hash."),
        ),
        ObjectAction(
            "rotate-token",
            _("Rotate the API token"),
            run=lambda client, actor: services.api_token_rotate(client=client, actor=actor),
            available=lambda client, user: _may_manage_tokens(user) and _has_token(client),
            bulk=False,
            danger=True,
            result_template=TOKEN_SHOWN_ONCE,
            note=_(
                "A new token replaces the current one, which stops working at once: the client's "
                "system must switch to the new token."
            ),
        ),
        ObjectAction(
            "revoke-token",
            _("Revoke the API token"),
            run=lambda client, actor: services.api_token_revoke(client=client, actor=actor),
            available=lambda client, user: _may_manage_tokens(user) and _has_token(client),
            bulk=False,
            danger=True,
            note=_("The current token stops working at once; the client has none until one is issued."),
        ),
    ]

    def get_fields(self, request, obj=None):
        fields = ["name", "user", "merchant", "carrier"]
        return [*fields, "tokens", "timeline"] if obj else fields

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "tokens"]

    @admin.display(description=_("API tokens"))
    def tokens(self, obj):
        tokens = list(obj.user.api_tokens.select_related("created_by")[: TOKENS_LISTED + 1])
        all_url = reverse("admin:interception_apitoken_changelist") + f"?user__id__exact={obj.user_id}"
        return mark_safe(
            render_to_string(
                "admin/interception/apiclient_tokens.html",
                {
                    "tokens": tokens[:TOKENS_LISTED],
                    "more": len(tokens) > TOKENS_LISTED,
                    "all_url": all_url,
                },
            )
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("in use")), ("revoked", _("revoked"))]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Every token, for supervisors: tokens are issued and rotated on their client's page; revoked here too
    (a staff user's token from before has no client page)."""

    list_display = ["prefix", "user", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_filter = [TokenStateFilter]
    list_select_related = ["user", "created_by"]
    search_fields = ["prefix", "user__username"]
    fields = ["prefix", "user", "created_at", "created_by", "last_used_at", "revoked_at", "timeline"]
    readonly_fields = fields[:-1]
    object_actions = [
        ObjectAction(
            "revoke",
            _("Revoke the API token"),
            run=lambda token, actor: services.api_token_revoke(token=token, actor=actor),
            available=lambda token, user: _may_manage_tokens(user) and token.revoked_at is None,
            bulk=False,
            danger=True,
            note=_("The token stops working at once."),
        ),
    ]

    @admin.display(description=_("Timeline"))
    def timeline(self, obj):
        # A client's tokens are recorded on the client's timeline.
        subject = ApiClient.objects.filter(user_id=obj.user_id).first() or obj
        return mark_safe(render_timeline(subject))
