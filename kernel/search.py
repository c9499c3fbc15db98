"""Finding rows by tracking number on its pattern index: exact, or its beginning (no LIKE '%x%' scans)."""

from django.db.models import Q


def tracking_number_q(value, field="tracking_number"):
    """Exact or prefix (trailing *) match on the tracking number's pattern index; case-insensitive by upper-casing."""
    value = (value or "").strip().upper()
    if value.endswith("*"):
        return Q(**{f"{field}__startswith": value.rstrip("*")})
    return Q(**{field: value})


def tracking_number_filter(queryset, value):
    return queryset.filter(tracking_number_q(value))
