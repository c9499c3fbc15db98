"""Locale-aware formatting for our templates: durations and money."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kernel.money import yuan

register = template.Library()


def split_seconds(seconds):
    """(days, hours, minutes) of a span of `seconds`, its sign dropped."""
    days, rest = divmod(abs(int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    return days, hours, rest // 60


@register.filter
def portal_duration(value):
    """A timedelta (or seconds) as the two largest units, in the active language: "2 days 3 hours"."""
    if value is None or value == "":
        return "—"
    days, hours, minutes = split_seconds(value.total_seconds() if isinstance(value, timedelta) else float(value))
    parts = [
        ngettext("%d day", "%d days", days) % days if days else "",
        ngettext("%d hour", "%d hours", hours) % hours if hours else "",
        ngettext("%d minute", "%d minutes", minutes) % minutes if minutes and not days else "",
    ]
    parts = [p for p in parts if p][:2]
    return " ".join(parts) if parts else _("under a minute")


@register.filter
def portal_money(value):
    """Yuan with two places and the locale's grouping: ¥1,234.50."""
    return yuan(value)


@register.filter
def portal_percent(value):
    """A share (0..1) as a whole percentage; "—" when there is nothing to divide."""
    if value is None or value == "":
        return "—"
    return f"{round(float(value) * 100)}%"


@register.filter
def svg_height(bars):
    """The chart's height for `bars` rows of 22 px."""
    return max(int(bars), 1) * 22
