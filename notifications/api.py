"""The merchant's side of webhooks: register addresses (POST /api/v1/webhooks/, the secret in that answer
only) and read its own deliveries (GET /api/v1/webhook-deliveries/). Only a merchant's API client: the
client is the authenticated user's (`request.user.api_client`), so no interception import is needed."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from notifications import services
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.outbox import WEBHOOK_EVENTS


def _client(request):
    """The calling API client; None for anyone else (the schema generator, staff), who then sees nothing."""
    return getattr(request.user, "api_client", None) if not request.user.is_staff else None


class MerchantClientOnly(permissions.BasePermission):
    message = "Only a merchant's API client has webhooks."

    def has_permission(self, request, view):
        client = _client(request)
        return client is not None and client.merchant_id is not None


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), allow_empty=False)
    url = serializers.CharField(max_length=500)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "created_at"]
        read_only_fields = ["id", "created_at"]


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown in this answer only.")

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["secret"]


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The calling merchant client's webhooks; another client's are 404."""

    serializer_class = WebhookSerializer
    permission_classes = [permissions.IsAuthenticated, MerchantClientOnly]
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return WebhookEndpoint.objects.filter(client=_client(self.request))

    @extend_schema(responses={201: WebhookCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_register(
            client=request.user.api_client, actor=request.user, **{k: data.validated_data[k] for k in ("url", "events")}
        )
        if data.validated_data.get("active") is False:
            services.webhook_update(endpoint=endpoint, active=False)
        body = WebhookSerializer(endpoint).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        data = WebhookSerializer(endpoint, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.webhook_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookSerializer(endpoint).data)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "http_status", "ok", "latency_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.IntegerField(source="endpoint_id")
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event",
            "event_id",
            "state",
            "attempts",
            "created_at",
            "delivered_at",
            "next_attempt_at",
            "last_status",
            "payload",
            "attempt_log",
        ]


class DeliveryFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=WebhookDelivery.State.choices)
    event = django_filters.ChoiceFilter(choices=[(e, e) for e in WEBHOOK_EVENTS])

    class Meta:
        model = WebhookDelivery
        fields = ["state", "event"]


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """What was (or will be) delivered to the calling client's webhooks, newest first."""

    serializer_class = DeliverySerializer
    permission_classes = [permissions.IsAuthenticated, MerchantClientOnly]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return WebhookDelivery.objects.filter(endpoint__client=_client(self.request)).prefetch_related("attempt_log")
