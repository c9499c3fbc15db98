"""The interception network: platforms and their rules, carriers, outlets, merchants (R2); API clients."""

import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.models import SealedCredentials
from kernel.money import money
from kernel.timeline import register_transitions

register_transitions(
    {
        "issue_token": _("API token issued"),
        "rotate_token": _("API token rotated"),
        "revoke_token": _("API token revoked"),
    }
)


class SettlementMode(models.TextChoices):
    ONLINE = "online", _("online settlement")
    OFFLINE = "offline", _("offline settlement")


class GoodsCategory(models.TextChoices):
    GENERAL = "general", _("general goods")
    FRESH = "fresh", _("fresh food")
    VIRTUAL = "virtual", _("virtual goods")
    WHOLE_VEHICLE = "whole_vehicle", _("whole vehicle")


def money_field(verbose_name, **kwargs):
    return money(
        models.DecimalField(
            verbose_name, max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))], **kwargs
        )
    )


class Platform(models.Model):
    """A marketplace and the rule settings that differ between marketplaces (R10, R15, R16, R18, R19, R25, R26)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    handling_window_days = models.PositiveSmallIntegerField(_("handling window (days)"), default=5)
    refuse_after_days = models.PositiveSmallIntegerField(_("refuse allowed after (days without result)"), default=3)
    claim_window_start_days = models.PositiveSmallIntegerField(_("claim arbitration from (days)"), default=7)
    claim_window_end_days = models.PositiveSmallIntegerField(_("claim arbitration until (days)"), default=30)
    claim_cap = money_field(_("claim cap (yuan)"), default=Decimal("1000.00"))
    claim_candidate_days = models.PositiveSmallIntegerField(
        _("claim candidate after (days without return scan)"), default=7
    )
    refund_cap_applies = models.BooleanField(_("refund cap applies"), default=False)
    refund_cap = money_field(
        _("refund cap (yuan)"),
        default=Decimal("500.00"),
        help_text=_("Refunds must be below this amount when the cap applies."),
    )
    blocked_categories = models.JSONField(
        _("blocked goods categories"),
        default=list,
        blank=True,
        help_text=_("Goods categories that cannot be intercepted."),
    )
    multi_parcel_allowed = models.BooleanField(_("multi-parcel orders allowed"), default=True)
    online_fee = money_field(_("online settlement fee (yuan)"), default=Decimal("3.00"))

    class Meta:
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        unknown = set(self.blocked_categories or []) - set(GoodsCategory.values)
        if unknown:
            raise ValidationError(
                {"blocked_categories": _("Unknown goods categories: %(c)s") % {"c": ", ".join(sorted(unknown))}}
            )
        if self.claim_window_start_days > self.claim_window_end_days:
            raise ValidationError({"claim_window_end_days": _("The window must end after it starts.")})


class Carrier(SealedCredentials):
    """A carrier and the service that intercepts its parcels: its adapter, its code there, its credentials."""

    code = models.SlugField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    adapter = models.CharField(
        _("adapter"), max_length=32, default="sandbox", help_text=_("Which carrier integration submits interceptions.")
    )
    service_code = models.CharField(
        _("code at the service"),
        max_length=32,
        blank=True,
        help_text=_("How the adapter's service names this carrier, e.g. zhongtong at kuaidi100."),
    )

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def callback_secret(self):
        """The secret our own callback format is signed with (the standard and sandbox adapters)."""
        return self.credentials.get("callback_secret", "")

    @callback_secret.setter
    def callback_secret(self, value):
        self.set_credentials({"callback_secret": value})


class PlatformCarrier(models.Model):
    """What a platform offers with a carrier: interception, modes, whether outlets review (R2, R3)."""

    platform = models.ForeignKey(
        Platform, on_delete=models.CASCADE, related_name="carrier_terms", verbose_name=_("platform")
    )
    carrier = models.ForeignKey(
        Carrier, on_delete=models.CASCADE, related_name="platform_terms", verbose_name=_("carrier")
    )
    interception_offered = models.BooleanField(_("interception offered"), default=True)
    online_mode = models.BooleanField(_("online settlement offered"), default=False)
    offline_mode = models.BooleanField(_("offline settlement offered"), default=False)
    approval_required = models.BooleanField(_("outlet approval required"), default=True)
    # Kuaishou opens every cooperating YTO outlet by default (R3): no application is made.
    open_by_default = models.BooleanField(
        _("outlets open by default"),
        default=False,
        help_text=_(
            "A merchant with an active e-waybill account at an outlet can intercept there without applying: "
            "the first interception opens the contract."
        ),
    )
    default_fee = money_field(
        _("fee of a contract opened by default (yuan)"),
        null=True,
        blank=True,
        help_text=_("Offline settlement: the fee until the merchant and the outlet agree another one."),
    )

    class Meta:
        verbose_name = _("platform carrier terms")
        verbose_name_plural = _("platform carrier terms")
        ordering = ["platform", "carrier"]
        constraints = [models.UniqueConstraint(fields=["platform", "carrier"], name="platformcarrier_unique")]

    def __str__(self):
        return f"{self.platform} × {self.carrier}"

    def offers(self, mode):
        if not self.interception_offered:
            return False
        return self.online_mode if mode == SettlementMode.ONLINE else self.offline_mode

    @property
    def default_mode(self):
        """The settlement mode of a contract opened by default: online where offered (the platform's fee),
        else offline at the default fee; None when neither can be opened."""
        if self.offers(SettlementMode.ONLINE):
            return SettlementMode.ONLINE
        if self.offers(SettlementMode.OFFLINE) and self.default_fee is not None:
            return SettlementMode.OFFLINE
        return None

    def clean(self):
        if not self.open_by_default:
            return
        if self.approval_required:
            raise ValidationError(
                {"open_by_default": _("Outlets open by default need no approval: untick outlet approval required.")}
            )
        if self.default_mode is None:
            raise ValidationError(
                {"default_fee": _("Outlets open by default need online settlement or the fee of offline settlement.")}
            )


class Outlet(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="outlets", verbose_name=_("carrier"))
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("outlet")
        verbose_name_plural = _("outlets")
        ordering = ["carrier", "code"]
        # Staff roles see every outlet's data; without it a user sees only the outlets they are a member of.
        permissions = [("view_all_outlets", _("Can see every outlet's data"))]
        constraints = [models.UniqueConstraint(fields=["carrier", "code"], name="outlet_code_unique")]
        indexes = [models.Index(fields=["name"], name="outlet_name_idx")]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Merchant(models.Model):
    class Status(models.TextChoices):
        OPERATING = "operating", _("operating normally")
        RESTRICTED = "restricted", _("restricted")
        CLOSED = "closed", _("closed")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="merchants", verbose_name=_("platform")
    )
    cross_border = models.BooleanField(_("cross-border"), default=False)
    operating_status = models.CharField(
        _("operating status"), max_length=16, choices=Status.choices, default=Status.OPERATING
    )
    auto_intercept = models.BooleanField(
        _("auto-intercept"),
        default=False,
        help_text=_("Intercept an eligible refund-only after-sale as soon as it arrives."),
    )

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["code"]
        indexes = [models.Index(fields=["name"], name="merchant_name_idx")]

    def __str__(self):
        return f"{self.name} ({self.code})"


class EwaybillAccount(SealedCredentials):
    """The merchant's e-waybill service with an outlet on a platform: prerequisite of a contract (R1)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="ewaybill_accounts", verbose_name=_("merchant")
    )
    outlet = models.ForeignKey(
        Outlet, on_delete=models.CASCADE, related_name="ewaybill_accounts", verbose_name=_("outlet")
    )
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="ewaybill_accounts", verbose_name=_("platform")
    )
    active = models.BooleanField(_("active"), default=True)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-waybill account")
        verbose_name_plural = _("e-waybill accounts")
        ordering = ["merchant", "outlet"]
        constraints = [models.UniqueConstraint(fields=["merchant", "outlet", "platform"], name="ewaybill_unique")]
        indexes = [models.Index(fields=["outlet", "active"], name="ewaybill_outlet_idx")]

    def __str__(self):
        return f"{self.merchant} @ {self.outlet}"

    def clean(self):
        if self.merchant_id and self.platform_id and self.merchant.platform_id != self.platform_id:
            raise ValidationError({"platform": _("The merchant's shop is on %(p)s.") % {"p": self.merchant.platform}})


class OutletMembership(models.Model):
    """Which outlets an outlet-staff user works for; everything they see is scoped by it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outlet_memberships", verbose_name=_("user")
    )
    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("outlet"))

    class Meta:
        verbose_name = _("outlet staff membership")
        verbose_name_plural = _("outlet staff memberships")
        ordering = ["outlet", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "outlet"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} → {self.outlet}"


class ApiClient(models.Model):
    """A merchant's or carrier's system calling the API; authenticates with its user's API token."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    merchant = models.ForeignKey(
        Merchant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_clients",
        verbose_name=_("merchant"),
    )
    carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.CASCADE, related_name="api_clients", verbose_name=_("carrier")
    )

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(merchant__isnull=False, carrier__isnull=True)
                    | models.Q(merchant__isnull=True, carrier__isnull=False)
                ),
                name="apiclient_one_owner",
            )
        ]

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """An API key of a user: an API client's, or a staff user's from before keys were issued in the admin.

    Only the key's SHA-256 is stored; the key itself is shown once, when issued. A key is 160 random bits,
    so a fast unsalted hash is as safe as a slow salted one (nothing to guess) and a request finds its
    token with one index lookup. The prefix (the key's first characters) lets staff tell tokens apart.
    """

    PREFIX_LENGTH = 8
    # "Last used" is this precise: at most one write per token per minute, whatever the request rate.
    USE_RESOLUTION = timedelta(minutes=1)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH)
    digest = models.CharField(_("SHA-256 of the key"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        permissions = [("manage_api_tokens", _("Can issue, rotate and revoke API tokens"))]
        constraints = [
            models.UniqueConstraint(fields=["digest"], name="apitoken_digest_unique"),
            # Rotation revokes the old token and issues the new one in one transaction.
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(revoked_at__isnull=True), name="apitoken_one_active_per_user"
            ),
        ]

    def __str__(self):
        return f"{self.prefix}…"

    @staticmethod
    def new_key():
        return secrets.token_hex(20)  # 40 characters, like the keys clients had before

    @staticmethod
    def digest_of(key):
        return hashlib.sha256(key.encode()).hexdigest()

    def mark_used(self, now=None):
        """Record a use unless one was recorded less than USE_RESOLUTION ago; returns whether it wrote."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < self.USE_RESOLUTION:
            return False
        # The condition lets only one of several concurrent requests of that minute write.
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - self.USE_RESOLUTION)
        written = ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
        return bool(written)
