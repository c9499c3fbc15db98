from rest_framework import serializers

from interception.models import EwaybillAccount, Merchant, Outlet, OutletMembership


class OutletSerializer(serializers.ModelSerializer):
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Outlet
        fields = ["id", "carrier", "code", "name", "region"]


class MerchantSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Merchant
        fields = ["id", "code", "name", "platform", "cross_border", "operating_status"]


class EwaybillAccountSerializer(serializers.ModelSerializer):
    merchant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = EwaybillAccount
        fields = ["id", "merchant", "outlet", "platform", "active"]


class OutletMembershipSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = OutletMembership
        fields = ["id", "user", "outlet"]
