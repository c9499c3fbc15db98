import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from interception import selectors, services
from interception.api import serializers
from interception.models import Carrier, Contract, Merchant, Outlet, Platform, SettlementMode
from portal.errors import DomainError


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """The queryset comes from a selector, so list and detail are scoped alike (404 outside the scope)."""

    selector = None

    def get_queryset(self):
        return type(self).selector(self.request.user)


class OutletViewSet(ScopedReadOnlyViewSet):
    selector = selectors.outlet_list
    serializer_class = serializers.OutletSerializer
    filterset_fields = ["carrier__code", "code"]


class MerchantViewSet(ScopedReadOnlyViewSet):
    selector = selectors.merchant_list
    serializer_class = serializers.MerchantSerializer
    filterset_fields = ["platform__code", "code"]


class EwaybillAccountViewSet(ScopedReadOnlyViewSet):
    selector = selectors.ewaybill_account_list
    serializer_class = serializers.EwaybillAccountSerializer
    filterset_fields = ["outlet", "active"]


class OutletMembershipViewSet(ScopedReadOnlyViewSet):
    selector = selectors.membership_list
    serializer_class = serializers.OutletMembershipSerializer
    filterset_fields = ["outlet"]


class ContractFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Contract.State.choices)
    carrier = django_filters.CharFilter(field_name="outlet__carrier__code")
    outlet = django_filters.CharFilter(field_name="outlet__code")
    platform = django_filters.CharFilter(field_name="platform__code")
    mode = django_filters.ChoiceFilter(field_name="settlement_mode", choices=SettlementMode.choices)

    class Meta:
        model = Contract
        fields = ["state", "carrier", "outlet", "platform", "mode"]


def _merchant_for(request, code):
    """The merchant a call is about: a merchant client's own, or the one named (in the caller's scope)."""
    scope = selectors.scope_for(request.user)
    if scope.merchant_id is not None and not code:
        return Merchant.objects.get(pk=scope.merchant_id)
    merchant = selectors.merchant_list(request.user).filter(code=code or "").first()
    if merchant is None:
        raise DomainError("merchant_unknown", _("Unknown merchant %(m)s.") % {"m": code}, status=400)
    return merchant


def _get_or_400(queryset, what, **lookup):
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise DomainError(f"{what}_unknown", _("Unknown %(what)s %(code)s.") % {"what": what,
                                                                               "code": lookup.get("code")},
                          status=400)
    return obj


class ContractViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Outlet contracts in the caller's scope; POST applies with one or many outlets."""

    selector = selectors.contract_list
    serializer_class = serializers.ContractSerializer
    filterset_class = ContractFilter

    @extend_schema(request=serializers.ContractApplySerializer, responses={201: serializers.ContractSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        data = serializers.ContractApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        merchant = _merchant_for(request, v.get("merchant"))
        platform = _get_or_400(Platform.objects.all(), "platform", code=v["platform"])
        carrier = _get_or_400(Carrier.objects.all(), "carrier", code=v["carrier"])
        outlets = [_get_or_400(Outlet.objects.all(), "outlet", carrier=carrier, code=code)
                   for code in v["outlets"]]
        if v["mode"] == SettlementMode.OFFLINE and v.get("fee") is None:
            raise DomainError("fee_required", _("Offline settlement needs the negotiated fee."), status=400)
        outcomes = services.contract_apply(merchant=merchant, platform=platform, outlets=outlets, mode=v["mode"],
                                           fee=v.get("fee") if v.get("fee") is not None else 0, actor=request.user,
                                           charge_failed=v["charge_failed"])
        refused = [{"outlet": o.outlet.code, **p.as_dict()} for o in outcomes for p in o.problems]
        created = [serializers.ContractSerializer(o.contract).data for o in outcomes if o.ok]
        if not created:
            return Response({"code": "application_refused", "detail": str(_("No application could be made.")),
                             "errors": refused}, status=422)
        return Response({"created": created, "errors": refused}, status=201)


class AgreementView(APIView):
    """Record that the merchant signed the interception agreement on a platform (R5)."""

    @extend_schema(request=serializers.AgreementSerializer, responses={200: None, 201: None})
    def post(self, request):
        data = serializers.AgreementSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merchant = _merchant_for(request, data.validated_data.get("merchant"))
        code = data.validated_data["platform"]
        platform = _get_or_400(Platform.objects.all(), "platform", code=code)
        agreement, created = services.agreement_sign(merchant=merchant, platform=platform, actor=request.user)
        return Response({"merchant": merchant.code, "platform": platform.code, "signed_at": agreement.signed_at},
                        status=201 if created else 200)
