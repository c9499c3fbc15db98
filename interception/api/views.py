from rest_framework import viewsets

from interception import selectors
from interception.api import serializers


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
