import django_filters
from django.db.models import Count
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from claims import selectors, services
from claims.models import Claim, ClaimGoodsLine
from interception import selectors as interception_selectors
from kernel import inputs
from kernel.errors import DomainError
from kernel.parsers import JSONParser


class GoodsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimGoodsLine
        fields = ["name", "quantity", "specification", "value"]


class ClaimSerializer(serializers.ModelSerializer):
    merchant = serializers.CharField(source="merchant.code", read_only=True)
    outlet = serializers.CharField(source="outlet.code", read_only=True)
    carrier = serializers.CharField(source="carrier.code", read_only=True)
    goods = GoodsSerializer(many=True, read_only=True)
    photos = serializers.IntegerField(source="photo_count", read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "interception",
            "tracking_number",
            "kind",
            "state",
            "merchant",
            "outlet",
            "carrier",
            "description",
            "goods_value",
            "claimed_amount",
            "offer_amount",
            "offer_side",
            "final_amount",
            "succeeded_at",
            "filed_at",
            "escalated_at",
            "decided_at",
            "payment_reference",
            "paid_at",
            "goods",
            "photos",
        ]
        read_only_fields = fields


class ClaimCreateSerializer(serializers.Serializer):
    interception = serializers.IntegerField(required=False)
    tracking_number = serializers.CharField(required=False, max_length=40)
    kind = serializers.ChoiceField(choices=Claim.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    goods = serializers.JSONField(
        required=False, help_text="[{name, quantity, specification, value}]; default: the parcel's goods"
    )
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="multipart only: JPEG, PNG or WebP, at most 10 MB each"
    )


class ClaimFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Claim.State.choices)
    kind = django_filters.ChoiceFilter(choices=Claim.Kind.choices)
    tracking_number = django_filters.CharFilter()

    class Meta:
        model = Claim
        fields = []


class ClaimViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Claims on interceptions whose return failed; POST files one (JSON, or multipart with photos)."""

    serializer_class = ClaimSerializer
    filterset_class = ClaimFilter
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        return selectors.claim_list(self.request.user).prefetch_related("goods").annotate(photo_count=Count("evidence"))

    @extend_schema(request=ClaimCreateSerializer, responses={201: ClaimSerializer})
    def create(self, request, *args, **kwargs):
        data = request.data
        if isinstance(data, QueryDict):  # multipart: one value per field, photos as files, goods as JSON text
            data = {k: data.get(k) for k in data if k != "photos"}
            data["photos"] = request.FILES.getlist("photos")
            if isinstance(data.get("goods"), str):
                data["goods"] = inputs.parse_json(data["goods"], code="goods_invalid")
        given = ClaimCreateSerializer(data=data)
        given.is_valid(raise_exception=True)
        v = given.validated_data
        interception_id = v.get("interception")
        if interception_id is None:
            found = (
                interception_selectors.interception_list(request.user)
                .filter(tracking_number=(v.get("tracking_number") or "").strip().upper())
                .order_by("-id")
                .first()
            )
            if found is None:
                raise DomainError("not_found", _("Name the interception by its id or tracking number."), status=404)
            interception_id = found.pk
        claim = services.claim_file(
            actor=request.user,
            interception_id=interception_id,
            kind=v["kind"],
            amount=v.get("amount"),
            description=v.get("description", ""),
            goods=v.get("goods"),
            photos=v.get("photos", []),
        )
        return Response(ClaimSerializer(self.get_queryset().get(pk=claim.pk)).data, status=201)
