"""Money as outside input writes it: Decimal yuan with at most 2 places, never through binary floating point."""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from kernel import inputs
from kernel.errors import Problem

CENT = Decimal("0.01")
LIMIT = Decimal("1e10")  # more than any fee, claim or statement; keeps a 12-digit column safe
PAYMENT_REFERENCE_LENGTH = 100  # statements' and claims' payment_reference columns


def parse_amount(value):
    """Decimal yuan with at most 2 decimals, or None when `value` is not such an amount (sign allowed)."""
    if isinstance(value, float):  # an XLSX number: go through its shortest text, never through binary
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) >= LIMIT:
        return None
    return amount.quantize(CENT)


def money(field):
    """Mark a model field as money: the admin shows its value as `yuan` (see `admin_display`). Not part of the
    field's deconstruction, so marking needs no migration."""
    field.is_money = True
    return field


def admin_display(display_for_field):
    """Django admin's `display_for_field`, showing money fields as ¥1,234.50 on change pages and in list cells."""

    def display(value, field, empty_value_display, *args, **kwargs):
        if getattr(field, "is_money", False) and value is not None:
            return yuan(value)
        return display_for_field(value, field, empty_value_display, *args, **kwargs)

    return display


def yuan(value):
    """Money as people read it in lists, pages and exports: ¥1,234.50 (the locale's grouping); "—" for none."""
    if value is None or value == "":
        return "—"
    return "¥" + number_format(Decimal(value).quantize(CENT), 2, force_grouping=True)


def payment_record_problems(*, reference, paid_at):
    """Any offline payment (statement or claim): a reference and an aware time."""
    problems = []
    if not (reference or "").strip():
        problems.append(Problem("reference_required", _("The payment reference is required."), "payment_reference"))
    else:
        problems += inputs.text_problems(reference.strip(), "payment_reference", max_length=PAYMENT_REFERENCE_LENGTH)
    if paid_at is None or getattr(paid_at, "tzinfo", None) is None:
        problems.append(Problem("paid_at_invalid", _("When was it paid? A date and time is required."), "paid_at"))
    return problems
