"""Pure checks of settlement (R21, R22): amounts, periods, payments, the outlet's bill lines."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from kernel import inputs, spreadsheets
from kernel.errors import Problem
from kernel.money import (
    parse_amount,
    payment_record_problems,
)

ADJUSTMENT_REASON_LENGTH = 500  # StatementLine.reason
TRACKING_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")


def amount_problems(value, field, *, allow_negative=True, allow_zero=True):
    amount = parse_amount(value)
    if amount is None:
        return [Problem("amount_invalid", _("Not an amount of yuan with at most 2 decimals."), field)]
    if amount < 0 and not allow_negative:
        return [Problem("amount_negative", _("The amount cannot be negative."), field)]
    if amount == 0 and not allow_zero:
        return [Problem("amount_zero", _("The amount cannot be zero."), field)]
    return []


def period_problems(start, end):
    if start is None or end is None:
        return [Problem("period_invalid", _("A period needs a first and a last day."), "period_start")]
    if end < start:
        return [Problem("period_invalid", _("The period ends before it starts."), "period_end")]
    if (end - start).days > 366:
        return [Problem("period_too_long", _("A statement covers at most one year."), "period_end")]
    return []


def payment_problems(*, total, amount, reference, difference_reason, paid_at):
    """R22: finance records the offline payment; an amount other than the total needs a reason."""
    problems = payment_record_problems(reference=reference, paid_at=paid_at)
    problems += amount_problems(amount, "paid_amount", allow_negative=False)
    if not problems and parse_amount(amount) != total and not (difference_reason or "").strip():
        problems.append(
            Problem(
                "amount_mismatch",
                _("%(paid)s paid but the statement totals %(total)s: give the reason for the difference.")
                % {"paid": parse_amount(amount), "total": total},
                "difference_reason",
            )
        )
    return problems


def adjustment_problems(adjustments, tracking_numbers):
    """Adjustment lines of a new version: a non-zero signed amount, a reason, a tracking number of the statement."""
    problems = []
    if not adjustments:
        problems.append(
            Problem("adjustment_required", _("A new version needs at least one adjustment line."), "adjustments")
        )
    for n, line in enumerate(adjustments, start=1):
        field = f"adjustments[{n - 1}]"
        problems += [
            Problem(p.code, _("Adjustment %(n)s: %(m)s") % {"n": n, "m": p.message}, f"{field}.amount")
            for p in amount_problems(line.get("amount"), "amount", allow_zero=False)
        ]
        if not str(line.get("reason") or "").strip():
            problems.append(
                Problem("reason_required", _("Adjustment %(n)s: a reason is required.") % {"n": n}, f"{field}.reason")
            )
        else:
            problems += inputs.text_problems(
                str(line["reason"]).strip(), f"{field}.reason", max_length=ADJUSTMENT_REASON_LENGTH
            )
        tracking = str(line.get("tracking_number") or "").strip().upper()
        if tracking and tracking not in tracking_numbers:
            problems.append(
                Problem(
                    "tracking_not_on_statement",
                    _("Adjustment %(n)s: %(t)s is not on this statement.") % {"n": n, "t": tracking},
                    f"{field}.tracking_number",
                )
            )
    return problems


@dataclass(frozen=True, slots=True)  # a bill holds up to UPLOAD_MAX_ROWS of them
class BillLine:
    row: int
    tracking_number: str
    billed_on: date
    fee: Decimal


def parse_bill_row(row_number, values, columns):
    """One line of the outlet's bill -> (BillLine or None, problems naming the row and the column)."""
    tracking_col, date_col, fee_col = columns
    problems = []

    def problem(code, column, message):
        problems.append(
            Problem(code, _("Row %(r)s, column %(c)s: %(m)s") % {"r": row_number, "c": column, "m": message}, column)
        )

    tracking = str(values.get(tracking_col) or "").strip().upper()
    if not tracking:
        problem("tracking_required", tracking_col, _("the tracking number is empty."))
    elif not TRACKING_NUMBER.match(tracking):
        problem("tracking_invalid", tracking_col, _("%(v)s is not a tracking number.") % {"v": tracking[:40]})
    billed_on = parse_day(values.get(date_col))
    if billed_on is None:
        problem(
            "date_invalid",
            date_col,
            _("%(v)s is not a date (2026-11-05, 2026/11/05 10:00, 2026年11月5日 or an Excel date).")
            % {"v": str(values.get(date_col) or "")[:40]},
        )
    fee = parse_amount(values.get(fee_col))
    if fee is None:
        problem(
            "fee_invalid",
            fee_col,
            _("%(v)s is not an amount of yuan with at most 2 decimals.") % {"v": str(values.get(fee_col) or "")[:40]},
        )
    if problems:
        return None, problems
    return BillLine(row_number, tracking, billed_on, fee), []


def parse_day(value):
    return spreadsheets.parse_day(value)
