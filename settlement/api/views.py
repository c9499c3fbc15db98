import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from settlement import exports, selectors
from settlement.models import Statement


class StatementSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    merchant = serializers.CharField(source="merchant.code", read_only=True)
    outlet = serializers.CharField(source="outlet.code", read_only=True)
    carrier = serializers.CharField(source="outlet.carrier.code", read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "number",
            "reference",
            "version",
            "previous",
            "state",
            "merchant",
            "outlet",
            "carrier",
            "period_start",
            "period_end",
            "line_count",
            "total",
            "issued_at",
            "answered_at",
            "dispute_reason",
            "payment_reference",
            "paid_at",
            "paid_amount",
            "difference_reason",
        ]
        read_only_fields = fields


class StatementFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Statement.State.choices)
    merchant = django_filters.CharFilter(field_name="merchant__code")
    outlet = django_filters.CharFilter(field_name="outlet__code")
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_until = django_filters.DateFilter(field_name="period_end", lookup_expr="lte")

    class Meta:
        model = Statement
        fields = []


class StatementViewSet(viewsets.ReadOnlyModelViewSet):
    """Offline statements of the caller's merchant (merchant clients), carrier or outlets; every version."""

    serializer_class = StatementSerializer
    filterset_class = StatementFilter

    def get_queryset(self):
        return selectors.statement_list(self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # ?format= names the file here, not one of the API's renderers.
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS), default="csv")],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        },
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """The statement as a file: header information, every line, the total (streamed)."""
        return exports.statement_export(
            statement_id=pk, actor=request.user, file_format=request.query_params.get("format", "csv")
        )
