"""django-import-export resources of the master-data lists: outlets, merchants, e-waybill accounts, after-sales.

Rows are keyed on codes, never on database ids, so a file can be written by hand or from another system:
outlets on (carrier, outlet code), merchants on their code, e-waybill accounts on (merchant, carrier,
outlet, platform), after-sales on (platform, after-sale number). Each resource lists its fields: a field
added to a model (a carrier's sealed credentials) is exported or imported only once it is named here.
See docs/master-data.md.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field
from import_export.widgets import CharWidget, DateTimeWidget

from interception import selectors, services
from interception.models import AfterSale, Carrier, EwaybillAccount, Merchant, Outlet, Parcel, Platform
from kernel.errors import DomainError
from kernel.imports import BooleanWidget, ChoiceWidget, CodeWidget, MoneyWidget, PortalResource

CARRIER = _("carrier code")
OUTLET = _("outlet code")
PLATFORM = _("platform code")
MERCHANT = _("merchant code")
TRACKING = _("tracking number")


def _text(attribute, label):
    return Field(attribute=attribute, column_name=label, widget=CharWidget(allow_blank=True))


def _local_time(attribute, label):
    return Field(attribute=attribute, column_name=label, widget=DateTimeWidget("%Y-%m-%d %H:%M"), readonly=True)


class OutletResource(PortalResource):
    selector = selectors.outlet_list
    carrier = Field(attribute="carrier", column_name=CARRIER, widget=CodeWidget(Carrier))
    code = _text("code", OUTLET)
    name = _text("name", _("outlet name"))
    region = _text("region", _("region"))

    class Meta:
        model = Outlet
        fields = ["carrier", "code", "name", "region"]
        import_id_fields = ["carrier", "code"]
        name = _("outlets")


class MerchantResource(PortalResource):
    selector = selectors.merchant_list
    code = _text("code", MERCHANT)
    name = _text("name", _("shop name"))
    platform = Field(attribute="platform", column_name=PLATFORM, widget=CodeWidget(Platform))
    cross_border = Field(attribute="cross_border", column_name=_("cross-border"), widget=BooleanWidget())
    operating_status = Field(
        attribute="operating_status",
        column_name=_("operating status"),
        widget=ChoiceWidget(Merchant.Status.choices),
    )
    auto_intercept = Field(attribute="auto_intercept", column_name=_("auto-intercept"), widget=BooleanWidget())

    class Meta:
        model = Merchant
        fields = ["code", "name", "platform", "cross_border", "operating_status", "auto_intercept"]
        import_id_fields = ["code"]
        name = _("merchants")


class EwaybillAccountResource(PortalResource):
    selector = selectors.ewaybill_account_list
    merchant = Field(attribute="merchant", column_name=MERCHANT, widget=CodeWidget(Merchant))
    carrier = Field(attribute="outlet__carrier__code", column_name=CARRIER, readonly=True)
    outlet = Field(
        attribute="outlet", column_name=OUTLET, widget=CodeWidget(Outlet, scope=[("carrier__code", CARRIER)])
    )
    platform = Field(attribute="platform", column_name=PLATFORM, widget=CodeWidget(Platform))
    active = Field(attribute="active", column_name=_("active"), widget=BooleanWidget())
    opened_at = _local_time("opened_at", _("opened at"))

    class Meta:
        model = EwaybillAccount
        fields = ["merchant", "carrier", "outlet", "platform", "active", "opened_at"]
        import_id_fields = ["merchant", "outlet", "platform"]
        name = _("e-waybill accounts")


class AfterSaleResource(PortalResource):
    """After-sales are created by aftersale_create, as the API creates them (its checks, its timeline entry,
    the merchant's auto-intercept rule); an after-sale that exists is never changed by a file: its state
    moves by transitions only, and what the buyer asked for is the platform's record."""

    selector = selectors.aftersale_list
    clean_exclude = ("state",)
    platform = Field(attribute="platform", column_name=PLATFORM, widget=CodeWidget(Platform))
    number = _text("number", _("after-sale number"))
    carrier = Field(attribute="parcel__carrier__code", column_name=CARRIER, readonly=True)
    parcel = Field(
        attribute="parcel",
        column_name=TRACKING,
        widget=CodeWidget(Parcel, field="tracking_number", scope=[("carrier__code", CARRIER)]),
    )
    merchant = Field(attribute="merchant__code", column_name=MERCHANT, readonly=True)
    kind = Field(attribute="kind", column_name=_("type"), widget=ChoiceWidget(AfterSale.Kind.choices))
    amount = Field(attribute="amount", column_name=_("refund amount (yuan)"), widget=MoneyWidget())
    reason = _text("reason", _("buyer's reason"))
    state = Field(
        attribute="state", column_name=_("state"), widget=ChoiceWidget(AfterSale.State.choices), readonly=True
    )
    created_at = _local_time("created_at", _("received at"))

    class Meta:
        model = AfterSale
        fields = [
            "platform",
            "number",
            "carrier",
            "parcel",
            "merchant",
            "kind",
            "amount",
            "reason",
            "state",
            "created_at",
        ]
        import_id_fields = ["platform", "number"]
        name = _("after-sales")

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.message_dict
        parcel = instance.parcel if instance.parcel_id else None
        if parcel is not None:
            # The after-sale is the parcel's merchant's, on the parcel's platform (the service decides so too).
            instance.merchant_id = parcel.merchant_id
            if instance.platform_id and instance.platform_id != parcel.platform_id:
                errors.setdefault(self.column("platform"), []).append(
                    _("the parcel was sold on %(p)s") % {"p": parcel.platform.code}
                )
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        if not is_create:
            raise self.row_error({"number": _("exists already with other values: a file adds after-sales only")})
        try:
            created, _order = services.aftersale_create(
                actor=kwargs.get("user"),
                parcel=instance.parcel,
                number=instance.number,
                kind=instance.kind,
                amount=instance.amount,
                reason=instance.reason,
            )
        except DomainError as exc:
            raise self.row_error(
                {error.get("field") or "__all__": str(error["message"]) for error in exc.errors}
                or {"__all__": str(exc.message)}
            ) from None
        instance.pk, instance.created_at = created.pk, created.created_at  # its state is the service's to set
        instance._state.adding = False
