"""Finding rows by tracking number on its pattern index: exact, or its beginning (no LIKE '%x%' scans)."""


def tracking_number_filter(queryset, value):
    """Exact or prefix (trailing *) match on the tracking number's pattern index; case-insensitive by upper-casing."""
    value = (value or "").strip().upper()
    if value.endswith("*"):
        return queryset.filter(tracking_number__startswith=value.rstrip("*"))
    return queryset.filter(tracking_number=value)
