"""Admin for the network: platforms, carriers, outlets, merchants, e-waybill accounts, staff, API clients."""

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from interception import master_data, selectors, services
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
            _("Interception limits (R10)"),
            {"fields": ["refund_cap_applies", "refund_cap", "blocked_categories", "multi_parcel_allowed"]},
        ),
        (
            _("Windows (R15, R16, R18, R25)"),
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
        (_("Money (R19, R26)"), {"fields": ["online_fee", "claim_cap"]}),
    ]


@admin.register(Carrier)
class CarrierAdmin(PortalAdmin):
    selector = selectors.carrier_list
    list_display = ["code", "name", "adapter"]
    search_fields = ["code", "name"]

    def get_fields(self, request, obj=None):
        fields = ["code", "name", "adapter", "callback_secret"]
        if not request.user.has_perm("interception.change_carrier"):
            fields.remove("callback_secret")
        return fields


@admin.register(PlatformCarrier)
class PlatformCarrierAdmin(PortalAdmin):
    selector = selectors.platform_carrier_list
    list_display = ["platform", "carrier", "interception_offered", "online_mode", "offline_mode", "approval_required"]
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
    verbose_name_plural = _("interception agreements (R5)")


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


@admin.register(EwaybillAccount)
class EwaybillAccountAdmin(PortalImportExportMixin, PortalAdmin):
    selector = selectors.ewaybill_account_list
    resource_classes = [master_data.EwaybillAccountResource]
    list_display = ["merchant", "outlet", "platform", "active", "opened_at"]
    list_filter = ["platform", "active", "outlet__carrier"]
    list_select_related = ["merchant", "outlet", "platform"]
    search_fields = ["merchant__code", "outlet__code"]
    autocomplete_fields = ["merchant", "outlet"]


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
    search_fields = ["name", "user__username", "merchant__code"]
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
