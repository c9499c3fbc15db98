from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from interception import selectors, services
from interception.models import (
    ApiClient,
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
from portal.admin_actions import ObjectAction, ObjectActionsMixin
from portal.admin_base import PortalAdmin, ReadOnlyInline


class PlatformForm(forms.ModelForm):
    blocked_categories = forms.MultipleChoiceField(
        label=_("blocked goods categories"), choices=GoodsCategory.choices, required=False,
        widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Platform
        fields = "__all__"


class PlatformCarrierInline(admin.TabularInline):
    model = PlatformCarrier
    extra = 0
    autocomplete_fields = ["carrier"]


@admin.register(Platform)
class PlatformAdmin(PortalAdmin):
    selector = selectors.platform_list
    form = PlatformForm
    list_display = ["code", "name", "handling_window_days", "refuse_after_days", "refund_cap_applies",
                    "refund_cap", "multi_parcel_allowed", "online_fee"]
    search_fields = ["code", "name"]
    inlines = [PlatformCarrierInline]
    fieldsets = [
        (None, {"fields": ["code", "name"]}),
        (_("Interception limits (R10)"), {"fields": ["refund_cap_applies", "refund_cap", "blocked_categories",
                                                     "multi_parcel_allowed"]}),
        (_("Windows (R15, R16, R18, R25)"), {"fields": ["handling_window_days", "refuse_after_days",
                                                        "claim_window_start_days", "claim_window_end_days",
                                                        "claim_candidate_days"]}),
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
    list_display = ["platform", "carrier", "interception_offered", "online_mode", "offline_mode",
                    "approval_required"]
    list_filter = ["platform", "carrier", "interception_offered", "offline_mode", "approval_required"]
    list_select_related = ["platform", "carrier"]


@admin.register(Outlet)
class OutletAdmin(PortalAdmin):
    selector = selectors.outlet_list
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
    return (user.has_perm("interception.sign_agreement")
            and not obj.agreements.filter(platform=obj.platform_id).exists())


@admin.register(Merchant)
class MerchantAdmin(ObjectActionsMixin, PortalAdmin):
    selector = selectors.merchant_list
    list_display = ["code", "name", "platform", "cross_border", "operating_status", "auto_intercept"]
    list_filter = ["platform", "cross_border", "operating_status", "auto_intercept"]
    list_select_related = ["platform"]
    search_fields = ["code", "name"]
    inlines = [EwaybillInline, AgreementInline]
    object_actions = [ObjectAction("sign-agreement", _("Record the agreement as signed"), run=_sign_agreement,
                                   available=_can_sign, bulk=False)]


@admin.register(EwaybillAccount)
class EwaybillAccountAdmin(PortalAdmin):
    selector = selectors.ewaybill_account_list
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


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "merchant", "carrier"]
    list_select_related = ["user", "merchant", "carrier"]
    search_fields = ["name", "user__username", "merchant__code"]
    autocomplete_fields = ["user", "merchant", "carrier"]
from interception import admin_contracts  # noqa: E402,F401
from interception import admin_interceptions  # noqa: E402,F401
