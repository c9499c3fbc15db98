from rest_framework import serializers

from interception.models import Contract, EwaybillAccount, Merchant, Outlet, OutletMembership


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


class ContractSerializer(serializers.ModelSerializer):
    merchant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    outlet = serializers.SlugRelatedField(slug_field="code", read_only=True)
    carrier = serializers.CharField(source="outlet.carrier.code", read_only=True)
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Contract
        fields = ["id", "merchant", "outlet", "carrier", "platform", "settlement_mode", "fee", "charge_succeeded",
                  "charge_failed", "state", "applied_at", "decided_at", "reject_reason", "closed_at", "close_reason"]
        read_only_fields = fields


class ContractApplySerializer(serializers.Serializer):
    merchant = serializers.CharField(required=False, help_text="Merchant code; a merchant client may omit it.")
    platform = serializers.CharField(help_text="Platform code: douyin, kuaishou.")
    carrier = serializers.CharField(help_text="Carrier code: yto, jt, zto, sto.")
    outlets = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=200,
                                    help_text="Outlet codes of that carrier.")
    mode = serializers.ChoiceField(choices=["online", "offline"])
    fee = serializers.DecimalField(max_digits=14, decimal_places=6, required=False,
                                   help_text="Yuan; required for offline, ignored for online.")
    charge_failed = serializers.BooleanField(default=False)


class AgreementSerializer(serializers.Serializer):
    merchant = serializers.CharField(required=False)
    platform = serializers.CharField()
