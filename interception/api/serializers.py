from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interception.models import (
    AfterSale,
    Carrier,
    CarrierEvent,
    CarrierResult,
    Contract,
    EwaybillAccount,
    GoodsCategory,
    GoodsLine,
    InterceptionMode,
    InterceptionOrder,
    LogisticsStatus,
    Merchant,
    Outlet,
    OutletMembership,
    Parcel,
    Platform,
    TrackingEvent,
)
from interception.rules import NEW_ADDRESS_FIELDS
from kernel import timeline


class OutletSerializer(serializers.ModelSerializer):
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Outlet
        fields = ["id", "carrier", "code", "name", "region"]


class MerchantSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Merchant
        fields = ["id", "code", "name", "platform", "cross_border", "operating_status", "auto_intercept"]


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
        fields = [
            "id",
            "merchant",
            "outlet",
            "carrier",
            "platform",
            "settlement_mode",
            "fee",
            "fee_return_outlet",
            "fee_reroute",
            "fee_includes_return",
            "charge_succeeded",
            "charge_failed",
            "state",
            "applied_at",
            "decided_at",
            "reject_reason",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields


def code_of(model, **kwargs):
    """A code naming a row of `model`, no longer than the column it is looked up in."""
    return serializers.CharField(max_length=model._meta.get_field("code").max_length, **kwargs)


def column_text(model, name, **kwargs):
    return serializers.CharField(max_length=model._meta.get_field(name).max_length, **kwargs)


class ContractApplySerializer(serializers.Serializer):
    merchant = code_of(Merchant, required=False, help_text="Merchant code; a merchant client may omit it.")
    platform = code_of(Platform, help_text="Platform code: douyin, kuaishou.")
    carrier = code_of(Carrier, help_text="Carrier code: yto, jt, zto, sto.")
    outlets = serializers.ListField(
        child=code_of(Outlet), min_length=1, max_length=200, help_text="Outlet codes of that carrier."
    )
    mode = serializers.ChoiceField(choices=["online", "offline"])
    fee = serializers.DecimalField(
        max_digits=14, decimal_places=6, required=False, help_text="Yuan; required for offline, ignored for online."
    )
    fee_return_outlet = serializers.DecimalField(
        max_digits=14, decimal_places=6, required=False, help_text="Offline: the fee back to the sending outlet."
    )
    fee_reroute = serializers.DecimalField(
        max_digits=14, decimal_places=6, required=False, help_text="Offline: the fee of a reroute (改址)."
    )
    fee_includes_return = serializers.BooleanField(
        default=False,
        help_text="Offline: whether the fee also pays for the return shipping; online: always true (the platform's "
        "fee covers it).",
    )
    charge_failed = serializers.BooleanField(default=False)


class AgreementSerializer(serializers.Serializer):
    merchant = code_of(Merchant, required=False)
    platform = code_of(Platform)


def _code():
    return serializers.SlugRelatedField(slug_field="code", read_only=True)


class GoodsLineSerializer(serializers.ModelSerializer):
    category = serializers.ChoiceField(choices=GoodsCategory.choices, default=GoodsCategory.GENERAL)
    quantity = serializers.IntegerField(min_value=1, default=1)
    value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)

    class Meta:
        model = GoodsLine
        fields = ["name", "category", "quantity", "specification", "value"]
        extra_kwargs = {"specification": {"required": False}}


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["status", "raw_text", "place", "at"]


class ParcelCreateSerializer(serializers.Serializer):
    merchant = code_of(Merchant, required=False, help_text="Merchant code; a merchant client's own by default.")
    carrier = code_of(Carrier)
    outlet = code_of(Outlet, help_text="The outlet's code (within the carrier).")
    tracking_number = column_text(Parcel, "tracking_number")
    order_number = column_text(Parcel, "order_number")
    parcels_in_order = serializers.IntegerField(min_value=1, default=1)
    goods = GoodsLineSerializer(many=True, allow_empty=False)


class ParcelSerializer(serializers.ModelSerializer):
    carrier, outlet, merchant, platform = _code(), _code(), _code(), _code()
    logistics_status = serializers.SerializerMethodField()
    goods = GoodsLineSerializer(many=True, read_only=True)

    class Meta:
        model = Parcel
        fields = [
            "id",
            "tracking_number",
            "carrier",
            "outlet",
            "merchant",
            "platform",
            "order_number",
            "parcels_in_order",
            "logistics_status",
            "last_event_at",
            "goods",
            "created_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=LogisticsStatus.choices))
    def get_logistics_status(self, obj):
        return obj.logistics_status()


# More parcels than an order of ours ever had: a longer list is refused, not read.
MAX_PARCELS = 20


def tracking_numbers_field(help_text):
    return serializers.ListField(
        child=column_text(Parcel, "tracking_number"),
        min_length=1,
        max_length=MAX_PARCELS,
        required=False,
        help_text=help_text,
    )


class AfterSaleCreateSerializer(serializers.Serializer):
    number = column_text(AfterSale, "number", help_text="The platform's after-sale number.")
    carrier = code_of(Carrier)
    tracking_number = column_text(
        Parcel, "tracking_number", required=False, help_text="The parcel the after-sale names."
    )
    tracking_numbers = tracking_numbers_field(
        "Several parcels of the order, the first first (Douyin lets the buyer choose several); "
        "instead of tracking_number."
    )
    kind = serializers.ChoiceField(choices=AfterSale.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    reason = column_text(AfterSale, "reason", required=False, allow_blank=True, default="")

    def validate(self, data):
        numbers = ([data["tracking_number"]] if data.get("tracking_number") else []) + data.get("tracking_numbers", [])
        if not numbers:
            raise serializers.ValidationError(
                {"tracking_numbers": [_("Name the parcel: tracking_number or tracking_numbers.")]}
            )
        data["tracking_numbers"] = list(dict.fromkeys(n.strip().upper() for n in numbers))
        return data


class AfterSaleSerializer(serializers.ModelSerializer):
    merchant, platform = _code(), _code()
    tracking_number = serializers.CharField(source="parcel.tracking_number", read_only=True)
    tracking_numbers = serializers.SerializerMethodField(
        help_text="Every parcel the after-sale names, the first first."
    )

    def get_tracking_numbers(self, obj) -> list[str]:
        return [p.tracking_number for p in obj.named_parcels()]

    class Meta:
        model = AfterSale
        fields = [
            "id",
            "number",
            "merchant",
            "platform",
            "tracking_number",
            "tracking_numbers",
            "kind",
            "amount",
            "reason",
            "state",
            "created_at",
            "intercepting_since",
            "window_ends_at",
            "decided_at",
            "decision_reason",
        ]


class NewAddressSerializer(serializers.Serializer):
    """Where a rerouted parcel goes (改址)."""

    name = column_text(InterceptionOrder, "recipient_name", help_text="The new recipient.")
    phone = column_text(InterceptionOrder, "recipient_phone", help_text="The new recipient's phone.")
    address = column_text(InterceptionOrder, "recipient_address", help_text="The full new address.")


class InterceptionCreateSerializer(serializers.Serializer):
    after_sale = column_text(AfterSale, "number", help_text="The after-sale number whose parcel to intercept.")
    platform = code_of(Platform, required=False, help_text="Platform code, when the number is ambiguous.")
    mode = serializers.ChoiceField(
        choices=InterceptionMode.values,
        default=InterceptionMode.RETURN_TO_SENDER,
        help_text="Where the parcel goes: return_sender (default), return_outlet, reroute (needs new_address), "
        "as the carrier's service supports them.",
    )
    new_address = NewAddressSerializer(required=False, help_text="Only for mode reroute.")
    tracking_numbers = tracking_numbers_field(
        "Which of the after-sale's parcels to intercept (all it names when absent): one interception each."
    )


class InterceptionSerializer(serializers.ModelSerializer):
    merchant, outlet, carrier, platform = _code(), _code(), _code(), _code()
    after_sale = serializers.CharField(source="after_sale.number", read_only=True)
    new_address = serializers.SerializerMethodField()

    @extend_schema_field(NewAddressSerializer(allow_null=True))
    def get_new_address(self, obj):
        return new_address_of(obj)

    class Meta:
        model = InterceptionOrder
        fields = [
            "id",
            "tracking_number",
            "after_sale",
            "state",
            "merchant",
            "outlet",
            "carrier",
            "platform",
            "settlement_mode",
            "mode",
            "new_address",
            "fee",
            "fee_includes_return",
            "chargeable",
            "via",
            "requested_at",
            "submitted_at",
            "result_at",
            "result_source",
            "failure_code",
            "failure_text",
            "return_scan_at",
            "returned_at",
            "return_loss",
        ]


class InterceptionStartedSerializer(InterceptionSerializer):
    """A start's answer: the first interception, as before several parcels, and every interception started."""

    interceptions = serializers.SerializerMethodField()

    class Meta(InterceptionSerializer.Meta):
        fields = [*InterceptionSerializer.Meta.fields, "interceptions"]

    @extend_schema_field(InterceptionSerializer(many=True))
    def get_interceptions(self, obj):
        return InterceptionSerializer(self.context["orders"], many=True).data


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    transition = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    reason = serializers.CharField()


class InterceptionDetailSerializer(InterceptionSerializer):
    timeline = serializers.SerializerMethodField()
    parcel = ParcelSerializer(read_only=True)

    class Meta(InterceptionSerializer.Meta):
        fields = [*InterceptionSerializer.Meta.fields, "parcel", "timeline"]

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, obj):
        return TimelineEntrySerializer(timeline.entries_for(obj), many=True).data


class CarrierEventSerializer(serializers.Serializer):
    """The portal's callback format (a carrier with its own format gets an adapter that translates it)."""

    event_id = column_text(CarrierEvent, "event_id")
    type = serializers.ChoiceField(choices=["tracking", "interception_result", "return_result"])
    tracking_number = column_text(CarrierEvent, "tracking_number")
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with its offset; at most CARRIER_CLOCK_SKEW_MINUTES ahead of our clock"
    )
    status = serializers.ChoiceField(
        choices=LogisticsStatus.choices, required=False, help_text="tracking: the normalised logistics status"
    )
    text = column_text(TrackingEvent, "raw_text", required=False, help_text="the carrier's own text")
    place = column_text(TrackingEvent, "place", required=False, help_text="tracking: where the scan happened")
    result = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in CarrierResult if r != CarrierResult.RETURNING],
        required=False,
        help_text="interception_result: succeeded | failed; return_result: returned | lost | damaged",
    )
    reason_code = column_text(InterceptionOrder, "failure_code", required=False)
    reason_text = column_text(InterceptionOrder, "failure_text", required=False)


def new_address_of(order):
    if order.mode != InterceptionMode.REROUTE:
        return None
    return {part: getattr(order, column) for part, column in NEW_ADDRESS_FIELDS.items()}


class LookupSerializer(serializers.Serializer):
    """The scan-time answer (GET /api/v1/interceptions/lookup/)."""

    tracking_number = serializers.CharField()
    stop = serializers.BooleanField(help_text="True: do not deliver, the parcel is being intercepted.")
    interception = serializers.IntegerField(required=False)
    state = serializers.ChoiceField(choices=InterceptionOrder.State.choices, required=False)
    state_label = serializers.CharField(required=False)
    mode = serializers.ChoiceField(choices=InterceptionMode.choices, required=False)
    mode_label = serializers.CharField(required=False)
    new_address = NewAddressSerializer(required=False, allow_null=True)
    requested_at = serializers.DateTimeField(required=False)
    instruction = serializers.CharField(help_text="What the scanner shows, in the portal's language.")
