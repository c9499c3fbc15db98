"""Daily key figures per platform × carrier × outlet × merchant, kept by the runner (kpi.rollup)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.models import Carrier, Merchant, Outlet, Platform
from kpi.histogram import BUCKETS


def _hist_fields(prefix):
    return {f"{prefix}{i:02d}": models.PositiveIntegerField(default=0) for i in range(BUCKETS)}


RESULT_BUCKETS = [f"took_{i:02d}" for i in range(BUCKETS)]
WAIT_BUCKETS = [f"wait_{i:02d}" for i in range(BUCKETS)]


class Figures(models.Model):
    """The figures of one calendar day (Asia/Shanghai); each counts on the day of its own event: results on
    result_at, finished returns on returned_at, lost and damaged parcels on return_failed_at, decided applications
    on decided_at, claims on filed_at and paid_at. Never edited by hand: a pass of the runner, or `rebuild_kpis`,
    deletes a day's rows and recounts them."""

    day = models.DateField(_("day"))
    carrier = models.ForeignKey(
        Carrier, on_delete=models.CASCADE, related_name="+", verbose_name=_("carrier"), db_index=False
    )
    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="+", verbose_name=_("outlet"))
    results = models.PositiveIntegerField(_("results"), default=0)
    successes = models.PositiveIntegerField(_("successes"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    failure_codes = models.JSONField(_("failures by reason"), default=dict, blank=True)  # carrier's code -> count
    fees = models.DecimalField(_("chargeable fees (yuan)"), max_digits=14, decimal_places=2, default=0)
    returned = models.PositiveIntegerField(_("returns finished"), default=0)
    lost = models.PositiveIntegerField(_("lost"), default=0)
    damaged = models.PositiveIntegerField(_("damaged"), default=0)
    approved = models.PositiveIntegerField(_("applications approved"), default=0)
    rejected = models.PositiveIntegerField(_("applications rejected"), default=0)
    claims_filed = models.PositiveIntegerField(_("claims filed"), default=0)
    claims_paid = models.PositiveIntegerField(_("claims paid"), default=0)
    locals().update(_hist_fields("took_"))  # results by time from request to result (kpi.histogram)
    locals().update(_hist_fields("wait_"))  # decided applications by time from application to decision

    class Meta:
        abstract = True


class DailyKpi(Figures):
    """One day of one platform × carrier × outlet × merchant."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="+", verbose_name=_("platform"))
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", verbose_name=_("merchant"), db_index=False
    )

    class Meta:
        verbose_name = _("daily key figures")
        verbose_name_plural = _("daily key figures")
        constraints = [
            models.UniqueConstraint(fields=["day", "platform", "carrier", "outlet", "merchant"], name="kpi_daily_key")
        ]
        indexes = [models.Index(fields=["outlet", "day"], name="kpi_daily_outlet_idx")]

    def __str__(self):
        return f"{self.day} {self.outlet_id}/{self.merchant_id}"


class DailyOutletKpi(Figures):
    """The same figures summed over platforms and merchants: one day of one carrier × outlet. Written with
    DailyKpi in the same recount; what the dashboard reads, since neither platform nor merchant is on it and a
    merchant-level row holds about one result a day at a large platform's spread."""

    class Meta:
        verbose_name = _("daily key figures of an outlet")
        verbose_name_plural = _("daily key figures of outlets")
        constraints = [models.UniqueConstraint(fields=["day", "carrier", "outlet"], name="kpi_outlet_key")]
        indexes = [models.Index(fields=["outlet", "day"], name="kpi_outlet_outlet_idx")]

    def __str__(self):
        return f"{self.day} {self.outlet_id}"


class HourlyOutletKpi(models.Model):
    """The carrier results of one hour (result_at) at one carrier × outlet, written with the daily rows by the
    same recount: the dashboard's "last 24 hours" sums the whole hours from here and counts only the hour at each
    end from the interceptions, so it reads about the same whatever the daily volume."""

    hour = models.DateTimeField(_("hour"))
    carrier = models.ForeignKey(
        Carrier, on_delete=models.CASCADE, related_name="+", verbose_name=_("carrier"), db_index=False
    )
    # The (outlet, hour) index serves an outlet's rows (and the cascade) too.
    outlet = models.ForeignKey(
        Outlet, on_delete=models.CASCADE, related_name="+", verbose_name=_("outlet"), db_index=False
    )
    results = models.PositiveIntegerField(_("results"), default=0)
    successes = models.PositiveIntegerField(_("successes"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("hourly results of an outlet")
        verbose_name_plural = _("hourly results of outlets")
        constraints = [models.UniqueConstraint(fields=["hour", "carrier", "outlet"], name="kpi_hourly_key")]
        indexes = [models.Index(fields=["outlet", "hour"], name="kpi_hourly_outlet_idx")]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}h {self.outlet_id}"


class Watermark(models.Model):
    """How far the runner has read the timeline (kpi.rollup.kpis_update).

    `floor`: every entry up to this id is counted for good. `passes`: [[iso time, highest id read], …] of the
    passes of the last MARGIN, whose entries are read again in case a lower id committed after them.
    """

    name = models.CharField(max_length=20, unique=True)
    floor = models.PositiveBigIntegerField(default=0)
    passes = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name}: {self.floor}"
