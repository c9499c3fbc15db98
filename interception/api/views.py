import django_filters
from django.http import HttpResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from interception import carriers, selectors, services
from interception.api import serializers
from interception.models import (
    AfterSale,
    Carrier,
    Contract,
    InterceptionMode,
    InterceptionOrder,
    Merchant,
    Outlet,
    Platform,
    SettlementMode,
)
from kernel.api import AwareDateTimeFilter
from kernel.errors import DomainError


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
        raise DomainError(
            f"{what}_unknown", _("Unknown %(what)s %(code)s.") % {"what": what, "code": lookup.get("code")}, status=400
        )
    return obj


class ContractViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Outlet contracts in the caller's scope; POST applies with one or many outlets."""

    selector = selectors.contract_list
    serializer_class = serializers.ContractSerializer
    filterset_class = ContractFilter

    @extend_schema(
        request=serializers.ContractApplySerializer, responses={201: serializers.ContractSerializer(many=True)}
    )
    def create(self, request, *args, **kwargs):
        data = serializers.ContractApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        merchant = _merchant_for(request, v.get("merchant"))
        platform = _get_or_400(Platform.objects.all(), "platform", code=v["platform"])
        carrier = _get_or_400(Carrier.objects.all(), "carrier", code=v["carrier"])
        outlets = [_get_or_400(Outlet.objects.all(), "outlet", carrier=carrier, code=code) for code in v["outlets"]]
        outcomes = services.contract_apply(
            merchant=merchant,
            platform=platform,
            outlets=outlets,
            mode=v["mode"],
            fee=v.get("fee"),
            actor=request.user,
            charge_failed=v["charge_failed"],
            fee_includes_return=v["fee_includes_return"],
            mode_fees={name: v.get(name) for name in ("fee_return_outlet", "fee_reroute")},
        )
        refused = [{"outlet": o.outlet.code, **p.as_dict()} for o in outcomes for p in o.problems]
        created = [serializers.ContractSerializer(o.contract).data for o in outcomes if o.ok]
        if not created:
            return Response(
                {"code": "application_refused", "detail": str(_("No application could be made.")), "errors": refused},
                status=422,
            )
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
        return Response(
            {"merchant": merchant.code, "platform": platform.code, "signed_at": agreement.signed_at},
            status=201 if created else 200,
        )


# --- parcels, after-sales, interceptions -----------------------------------------------------------------------------


def _outlet_of(carrier_code, outlet_code):
    carrier = _get_or_400(Carrier.objects.all(), "carrier", code=carrier_code)
    return _get_or_400(Outlet.objects.select_related("carrier"), "outlet", carrier=carrier, code=outlet_code)


class ParcelViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Shipped parcels with their goods; tracking arrives through the carriers' callbacks."""

    selector = selectors.parcel_list
    serializer_class = serializers.ParcelSerializer
    filterset_fields = ["tracking_number", "order_number"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("goods")

    @extend_schema(request=serializers.ParcelCreateSerializer, responses={201: serializers.ParcelSerializer})
    def create(self, request, *args, **kwargs):
        data = serializers.ParcelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        parcel = services.parcel_create(
            actor=request.user,
            merchant=_merchant_for(request, v.get("merchant")),
            outlet=_outlet_of(v["carrier"], v["outlet"]),
            tracking_number=v["tracking_number"],
            order_number=v["order_number"],
            parcels_in_order=v["parcels_in_order"],
            goods=v["goods"],
        )
        return Response(serializers.ParcelSerializer(parcel).data, status=201)


class AfterSaleFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AfterSale.State.choices)
    kind = django_filters.ChoiceFilter(choices=AfterSale.Kind.choices)
    number = django_filters.CharFilter()

    class Meta:
        model = AfterSale
        fields = ["state", "kind", "number"]


class AfterSaleViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Buyers' after-sales. With the merchant's auto-intercept rule on, an eligible one is intercepted at once."""

    selector = selectors.aftersale_list
    serializer_class = serializers.AfterSaleSerializer
    filterset_class = AfterSaleFilter

    def get_queryset(self):
        return super().get_queryset().prefetch_related("other_parcels")

    @extend_schema(request=serializers.AfterSaleCreateSerializer, responses={201: serializers.AfterSaleSerializer})
    def create(self, request, *args, **kwargs):
        data = serializers.AfterSaleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        found = {
            p.tracking_number: p
            for p in selectors.parcel_list(request.user).filter(
                carrier__code=v["carrier"], tracking_number__in=v["tracking_numbers"]
            )
        }
        if unknown := [n for n in v["tracking_numbers"] if n not in found]:
            raise DomainError(
                "parcel_unknown",
                _("Unknown parcel %(t)s: send it to /api/v1/parcels/ first.") % {"t": ", ".join(unknown)},
                errors=[{"code": "parcel_unknown", "message": n, "field": "tracking_numbers"} for n in unknown],
                status=400,
            )
        first, *others = (found[n] for n in v["tracking_numbers"])
        after_sale, order = services.aftersale_create(
            actor=request.user,
            parcel=first,
            number=v["number"],
            kind=v["kind"],
            amount=v["amount"],
            reason=v["reason"],
            other_parcels=others,
        )
        body = serializers.AfterSaleSerializer(after_sale).data
        body["interception"] = serializers.InterceptionSerializer(order).data if order else None
        body["auto_intercept_refused"] = getattr(after_sale, "auto_intercept_problems", [])
        for problem in body["auto_intercept_refused"]:
            problem["message"] = str(problem["message"])
        return Response(body, status=201)


class InterceptionFilter(django_filters.FilterSet):
    """The changelist's filters: state, carrier, platform, settlement mode, outlet, created range, tracking number."""

    state = django_filters.ChoiceFilter(choices=InterceptionOrder.State.choices)
    carrier = django_filters.CharFilter(field_name="carrier__code")
    platform = django_filters.CharFilter(field_name="platform__code")
    settlement_mode = django_filters.ChoiceFilter(field_name="settlement_mode", choices=SettlementMode.choices)
    # `mode` filtered the settlement mode before interceptions had modes of their own; kept for its clients.
    mode = django_filters.ChoiceFilter(
        field_name="settlement_mode", choices=SettlementMode.choices, help_text="Same as settlement_mode."
    )
    interception_mode = django_filters.ChoiceFilter(field_name="mode", choices=InterceptionMode.choices)
    outlet = django_filters.NumberFilter(field_name="outlet_id")
    created_after = AwareDateTimeFilter(field_name="requested_at", lookup_expr="gte")
    created_before = AwareDateTimeFilter(field_name="requested_at", lookup_expr="lt")
    tracking_number = django_filters.CharFilter(
        method="filter_tracking", help_text="Exact, or a prefix ending with * (JT123*)."
    )

    class Meta:
        model = InterceptionOrder
        fields = [
            "state",
            "carrier",
            "platform",
            "settlement_mode",
            "mode",
            "interception_mode",
            "outlet",
            "created_after",
            "created_before",
            "tracking_number",
        ]

    def filter_tracking(self, queryset, name, value):
        return selectors.tracking_number_filter(queryset, value)


class InterceptionViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Interception orders; POST starts one for an after-sale (422 with every eligibility code when refused)."""

    selector = selectors.interception_list
    filterset_class = InterceptionFilter

    def get_queryset(self):
        return super().get_queryset().select_related("after_sale")

    @extend_schema(
        parameters=[OpenApiParameter("tracking_number", str, required=True, description="The scanned number.")],
        responses={200: serializers.LookupSerializer},
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path="lookup", filter_backends=[], pagination_class=None)
    def lookup(self, request):
        """What an outlet's scanner asks at the delivery scan: is this parcel to be stopped, and where does it go?

        Scoped like every list (a carrier's client, its own parcels; outlet staff, their outlets'): a parcel
        outside the scope answers as one nobody intercepts."""
        answer = selectors.interception_lookup(request.user, request.query_params.get("tracking_number"))
        return Response(serializers.LookupSerializer(answer).data)

    def get_serializer_class(self):
        return (
            serializers.InterceptionDetailSerializer
            if self.action == "retrieve"
            else serializers.InterceptionSerializer
        )

    @extend_schema(
        request=serializers.InterceptionCreateSerializer, responses={201: serializers.InterceptionStartedSerializer}
    )
    def create(self, request, *args, **kwargs):
        data = serializers.InterceptionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        candidates = selectors.aftersale_list(request.user).filter(number=v["after_sale"])
        if v.get("platform"):
            candidates = candidates.filter(platform__code=v["platform"])
        found = list(candidates[:2])
        if len(found) != 1:
            raise DomainError(
                "after_sale_unknown" if not found else "after_sale_ambiguous",
                _("Unknown after-sale %(n)s.") % {"n": v["after_sale"]}
                if not found
                else _("After-sale %(n)s exists on several platforms: name the platform.") % {"n": v["after_sale"]},
                status=400,
            )
        orders = services.interceptions_start(
            after_sale_id=found[0].pk,
            actor=request.user,
            tracking_numbers=v.get("tracking_numbers"),
            via=InterceptionOrder.Via.API,
            mode=v["mode"],
            new_address=v.get("new_address"),
        )
        body = serializers.InterceptionStartedSerializer(orders[0], context={"orders": orders}).data
        return Response(body, status=201)


class CarrierEventView(APIView):
    """A carrier's signed callback (see docs/api.md): tracking updates, interception and return results."""

    # (Not in the docstring: DRF shows that in OPTIONS answers and the schema.) A POST that accepts JSON skips
    # DRF's request handling: the view reads its body itself and takes no token, no rate limit and no content
    # negotiation, and at hundreds of callbacks a second that handling cost a fifth of a worker's CPU
    # (docs/benchmarks.md). `as_view` sends those POSTs straight to `receive`, every other request (another
    # method, OPTIONS, an Accept header plain JSON does not satisfy) through DRF as before, so those answers
    # are DRF's own; the schema is generated from this class.

    authentication_classes = []
    permission_classes = [AllowAny]
    # The signature is the carrier's credential; the token clients' rate limit does not apply. A carrier's
    # system reads JSON: no browsable page to negotiate on every callback.
    throttle_classes = []
    renderer_classes = [JSONRenderer]

    @classmethod
    def as_view(cls, **initkwargs):
        through_drf = super().as_view(**initkwargs)
        allowed = ", ".join(cls().allowed_methods)

        def view(request, code):
            if request.method != "POST" or not _accepts_json(request.headers.get("Accept")):
                return through_drf(request, code=code)
            response = cls.receive(request, code)
            response["Allow"] = allowed  # as DRF's answer says it
            return response

        # What DRF's view offers the URL resolver, the CSRF middleware and the schema generator.
        view.cls, view.initkwargs, view.csrf_exempt = through_drf.cls, through_drf.initkwargs, True
        view.__doc__, view.__name__, view.__module__ = cls.__doc__, cls.__name__, cls.__module__
        return view

    @staticmethod
    def receive(django_request, code):
        # The carrier's adapter reads the request and answers in its service's format (our JSON here; kuaidi100
        # posts a form and wants its own answer).
        forms = ("application/x-www-form-urlencoded", "multipart/form-data")
        try:
            body = django_request.body
        except RawPostDataException:  # a multipart form, parsed already from the stream (RequestLimitsMiddleware)
            body = b""
        form = django_request.POST if django_request.content_type in forms else {}
        incoming = carriers.Incoming(
            body=body,
            content_type=django_request.content_type or "",
            headers=django_request.headers,  # case-insensitive, as HTTP's names are
            form=dict(form.items()),
        )
        try:
            answer = services.carrier_callback(carrier_code=code, incoming=incoming)
        except DomainError as exc:  # an unknown carrier: the API's error shape, as DRF's handler renders it
            return HttpResponse(
                JSONRenderer().render(exc.as_dict()), status=exc.status, content_type="application/json"
            )
        return HttpResponse(answer.content, status=answer.status, content_type=answer.content_type)

    @extend_schema(
        request=serializers.CarrierEventSerializer,
        parameters=[
            OpenApiParameter(
                "X-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
            )
        ],
        responses={200: None, 202: None, 400: None, 401: None, 404: None},
    )
    def post(self, request, code):
        return self.receive(request._request, code)


def _accepts_json(accept):
    """Whether DRF's negotiation would pick plain JSON for this Accept header: none, any, or JSON without
    parameters (anything else goes through DRF, which may answer 406 or indent its JSON as it always did)."""
    if not accept:
        return True
    return all(part.strip() in ("*/*", "application/*", "application/json") for part in accept.split(","))
