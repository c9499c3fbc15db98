"""The OpenAPI schema's answers: every error an operation can give, in the one shape every error has.

`AutoSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds the `Error` component
({"code", "detail", "errors": [...]}, portal/api.py) to each operation for the statuses it can give:
a default per method (`error_statuses`), and below it, in `EXTRA_ERRORS`, what a view's services add
(the status comes from DomainError.status). `RESPONSES` documents bodies that a view builds by hand.
A view that declares error statuses itself (`@extend_schema(responses={404: None})`, or in
`RESPONSES`) gives exactly those, and 413 for a body too large; a declared error without a body gets
the Error shape.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from interception.api.serializers import AfterSaleSerializer, ContractSerializer, InterceptionSerializer
from interception.models.parcels import REPORTED_STATUSES


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField(help_text="In the caller's language (Accept-Language).")
    field = serializers.CharField(
        required=False, allow_null=True, help_text="The request field concerned, e.g. goods[0].value."
    )
    row = serializers.IntegerField(required=False, help_text="A file's row number.")
    column = serializers.CharField(required=False, help_text="A file's column.")


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable: invalid, not_found, not_eligible, ...")
    detail = serializers.CharField(help_text="The first problem, in the caller's language.")
    errors = ErrorItemSerializer(many=True, help_text="Every problem; empty when there is only the one.")


WHY = {
    400: "The request is refused: a field, filter or value is invalid (`invalid`, every field in `errors`), "
    "names nothing known (e.g. `platform_unknown`), or the address holds a NUL (`invalid_character`).",
    401: "No token, or a token that is not valid (`not_authenticated`, `authentication_failed`).",
    403: "Not allowed: the caller's role, another merchant's data, or a signed-in session without its CSRF "
    "token (`forbidden`, `permission_denied`).",
    404: "Does not exist, or is outside the caller's scope (`not_found`); for a list, a cursor that is not valid.",
    409: "Conflicts with what exists already (e.g. `parcel_exists`, `after_sale_exists`, `claim_exists`).",
    413: "The request body is too large (`body_too_large`).",
    415: "The body's Content-Type is not one the operation reads (`unsupported_media_type`).",
    422: "Refused by the rules, every reason in `errors` (e.g. `not_eligible`, `application_refused`).",
    429: "More requests than the API client's rate limit (`throttled`); the Retry-After header says when to try again.",
}


class AgreementSignedSerializer(serializers.Serializer):
    merchant = serializers.CharField()
    platform = serializers.CharField()
    signed_at = serializers.DateTimeField()


class ContractRefusalSerializer(ErrorItemSerializer):
    outlet = serializers.CharField(help_text="The outlet refused.")


class ContractApplicationSerializer(serializers.Serializer):
    created = ContractSerializer(many=True)
    errors = ContractRefusalSerializer(many=True, help_text="Every outlet refused, with each reason.")


class AfterSaleCreatedSerializer(AfterSaleSerializer):
    interception = InterceptionSerializer(
        allow_null=True, help_text="Started by the merchant's auto-intercept rule, or null."
    )
    auto_intercept_refused = ErrorItemSerializer(many=True, help_text="Why the auto-intercept rule did not intercept.")

    class Meta(AfterSaleSerializer.Meta):
        fields = [*AfterSaleSerializer.Meta.fields, "interception", "auto_intercept_refused"]


class CarrierEventFields(serializers.Serializer):
    event_id = serializers.CharField(
        max_length=100, help_text="The carrier's id of the event; a repeat is a duplicate."
    )
    tracking_number = serializers.CharField(max_length=40)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with its offset.")
    text = serializers.CharField(required=False, max_length=500, help_text="The carrier's own text.")


class CarrierTrackingEventSerializer(CarrierEventFields):
    type = serializers.ChoiceField(["tracking"])
    status = serializers.ChoiceField(REPORTED_STATUSES, help_text="The normalised logistics status.")
    place = serializers.CharField(required=False, max_length=100, help_text="Where the scan happened.")


class CarrierInterceptionResultSerializer(CarrierEventFields):
    type = serializers.ChoiceField(["interception_result"])
    result = serializers.ChoiceField(["succeeded", "failed"])
    reason_code = serializers.CharField(required=False, max_length=64, help_text="Why it failed.")
    reason_text = serializers.CharField(required=False, max_length=500)


class CarrierReturnResultSerializer(CarrierEventFields):
    type = serializers.ChoiceField(["return_result"])
    result = serializers.ChoiceField(["returned", "lost", "damaged"])


CARRIER_EVENT = PolymorphicProxySerializer(
    component_name="CarrierEvent",
    resource_type_field_name="type",
    serializers={
        "tracking": CarrierTrackingEventSerializer,
        "interception_result": CarrierInterceptionResultSerializer,
        "return_result": CarrierReturnResultSerializer,
    },
)

RECEIPT_CODES = ["applied", "no_effect", "unknown_parcel", "out_of_order"]  # SPECTACULAR_SETTINGS names the enum


class CarrierEventReceiptSerializer(serializers.Serializer):
    code = serializers.ChoiceField(RECEIPT_CODES, required=False, help_text="Absent when the event is a duplicate.")
    detail = serializers.CharField(required=False)
    event_id = serializers.CharField()
    duplicate = serializers.BooleanField(help_text="true: this event id arrived before; nothing changed.")


def error(description):
    return OpenApiResponse(ErrorSerializer, description)


# What a view's services refuse with beyond its method's default, keyed by module.View.action (or method).
EXTRA_ERRORS = {
    "interception.api.views.ContractViewSet.create": {422},  # application_refused: no outlet could be applied for
    "interception.api.views.ParcelViewSet.create": {409},  # parcel_exists
    "interception.api.views.AfterSaleViewSet.create": {409},  # after_sale_exists
    "interception.api.views.InterceptionViewSet.create": {422},  # not_eligible, interception_exists
    # not_found (no such interception in scope), claim_exists (a race), return_not_failed / kind_mismatch
    "claims.api.views.ClaimViewSet.create": {404, 409, 422},
    "settlement.api.views.StatementViewSet.export": {403},  # the export_statement permission
    # Webhooks are a merchant's API client's alone: anyone else is refused (403) on every operation.
    **{
        f"notifications.api.{view}.{action}": {403}
        for view, actions in {
            "WebhookViewSet": ("list", "retrieve", "create", "partial_update", "destroy"),
            "WebhookDeliveryViewSet": ("list", "retrieve"),
        }.items()
        for action in actions
    },
    "notifications.api.WebhookViewSet.partial_update": {403, 404},  # another client's webhook is not found
}

# Request bodies a view reads by hand, keyed like EXTRA_ERRORS: the callback reads its raw body as JSON, whatever
# DRF's parsers would take, in one of three shapes.
REQUESTS = {"interception.api.views.CarrierEventView.post": {"application/json": CARRIER_EVENT}}

# Bodies a view builds by hand, keyed like EXTRA_ERRORS.
RESPONSES = {
    "interception.api.views.ContractViewSet.create": {201: ContractApplicationSerializer},
    "interception.api.views.AgreementView.post": {
        200: OpenApiResponse(AgreementSignedSerializer, "Signed before."),
        201: OpenApiResponse(AgreementSignedSerializer, "Signed now."),
    },
    "interception.api.views.AfterSaleViewSet.create": {201: AfterSaleCreatedSerializer},
    "interception.api.views.CarrierEventView.post": {
        200: OpenApiResponse(
            CarrierEventReceiptSerializer,
            "Applied (`applied`), of no effect (`no_effect`), or a duplicate (`duplicate`: true).",
        ),
        202: OpenApiResponse(
            CarrierEventReceiptSerializer,
            "Stored, applied later: the parcel is not known yet "
            "(`unknown_parcel`) or the result comes too early "
            "(`out_of_order`).",
        ),
        400: error(
            "The body is malformed (`invalid_event`, with the field), or the address holds a NUL (`invalid_character`)."
        ),
        401: error(
            "The X-Signature header is missing, wrong (`bad_signature`) or more than 300 s from our clock "
            "(`stale_signature`)."
        ),
        404: error("No carrier has this code (`unknown_carrier`)."),
    },
}


class AutoSchema(SpectacularAutoSchema):
    def _view_key(self):
        view = type(self.view)
        return f"{view.__module__}.{view.__qualname__}.{getattr(self.view, 'action', None) or self.method.lower()}"

    def error_statuses(self):
        """The errors an operation of this method and view can answer with."""
        view, takes_body = self.view, self.method in ("POST", "PUT", "PATCH")
        declared = self._declared_errors()
        if declared:
            return declared | ({413} if takes_body else set())
        statuses = {400}  # every operation checks what it reads; portal.security refuses a NUL in any address
        protected = not all(issubclass(p, AllowAny) for p in view.permission_classes)
        if protected:
            statuses.add(401)
        if view.throttle_classes:
            statuses.add(429)
        if takes_body:
            statuses |= {413, 415} | ({403} if protected else set())
        elif self._is_list_view() or "{" in self.path:
            statuses.add(404)  # a list's cursor; a detail route's row
        return statuses | EXTRA_ERRORS.get(self._view_key(), set())

    def _declared_errors(self):
        declared = self.get_response_serializers()
        codes = [*(declared if isinstance(declared, dict) else ()), *RESPONSES.get(self._view_key(), ())]
        codes = {int(code[0] if isinstance(code, tuple) else code) for code in codes}
        return {code for code in codes if code >= 400}

    def _get_request_body(self, direction="request"):
        if self._view_key() not in REQUESTS:
            return super()._get_request_body(direction)
        # @extend_schema's subclass overrides get_request_serializer; the table has the last word here.
        self.get_request_serializer = lambda: REQUESTS[self._view_key()]
        try:
            return super()._get_request_body(direction)
        finally:
            del self.get_request_serializer

    def _is_list_view(self, serializer=None):
        # Only a GET lists (and takes filters and a cursor); a POST answering with a list creates.
        return self.method == "GET" and super()._is_list_view(serializer)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, serializer in RESPONSES.get(self._view_key(), {}).items():
            responses[str(code)] = self._get_response_for_code(serializer, str(code), direction=direction)
        bare = {int(code) for code, response in responses.items() if int(code) >= 400 and "content" not in response}
        for code in self.error_statuses() | bare:
            if str(code) not in responses or code in bare:
                responses[str(code)] = self._get_response_for_code(
                    error(WHY.get(code, "")), str(code), ["application/json"], direction
                )
        return dict(sorted(responses.items()))
