from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.secrets import seal, unseal


class TimelineEntry(models.Model):
    """One transition of one object: who, when, from, to, which transition and why.

    Written by services in the same transaction as the transition, never edited.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("object type"))
    object_id = models.PositiveBigIntegerField(_("object id"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("by"), max_length=150)
    transition = models.CharField(_("transition"), max_length=64)
    from_state = models.CharField(_("from"), max_length=32, blank=True)
    to_state = models.CharField(_("to"), max_length=32, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"], name="timeline_object_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.transition}"


class StagedUpload(models.Model):
    """An uploaded file kept between its preview and its confirmation, for the user who uploaded it.

    In the database, so that whichever app host answers the confirmation finds what another one previewed;
    deleted when it is applied, or by the next upload once expired (portal/uploads.py). The bytes are in parts
    of at most PART_BYTES: the database driver escapes a parameter in memory at several times its size.
    """

    PART_BYTES = 256 * 1024

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=40)
    name = models.TextField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("staged upload")
        verbose_name_plural = _("staged uploads")

    def __str__(self):
        return f"{self.purpose}: {self.name}"


class StagedUploadPart(models.Model):
    upload = models.ForeignKey(StagedUpload, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    content = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "number"], name="staged_upload_part_unique")]

    def __str__(self):
        return f"{self.upload_id}/{self.number}"


class SealedCredentials(models.Model):
    """Credentials of an outside service, sealed at rest (kernel.secrets); written, never shown again."""

    sealed_credentials = models.TextField(_("credentials (sealed)"), blank=True, editable=False)
    credentials_set_at = models.DateTimeField(_("credentials set at"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def credentials(self):
        """The opened credentials (a dict); only protocol code reads them."""
        if getattr(self, "_credentials_sealed", None) != self.sealed_credentials:
            self._credentials, self._credentials_sealed = unseal(self.sealed_credentials), self.sealed_credentials
        return self._credentials

    def set_credentials(self, values, *, at=None):
        """Seal `values` over the current ones: an empty value keeps what was set (the form shows nothing)."""
        merged = {**self.credentials, **{k: v for k, v in values.items() if v not in (None, "")}}
        self.sealed_credentials = seal(merged)
        self.credentials_set_at = at or timezone.now()
