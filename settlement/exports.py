"""Statement and reconciliation files: header information, the lines, the total; streamed in constant memory."""

from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from interception.models import RETURN_SHIPPING, InterceptionOrder, return_shipping_label
from kernel import sql_csv
from kernel.errors import DomainError
from kernel.spreadsheets import csv_chunks, stream_csv, stream_csv_chunks, stream_xlsx
from kernel.transitions import find, require
from settlement import selectors
from settlement.models import Difference, StatementLine

FORMATS = ("csv", "xlsx")
LINE_COLUMNS = [
    _("No."),
    _("tracking number"),
    _("result at"),
    _("result"),
    _("kind"),
    _("amount (yuan)"),
    _("return shipping"),
    _("reason"),
    _("interception"),
]
# Whether the line's fee covered the return (R19): the interception's snapshot; empty on an adjustment.
RETURN_SHIPPING_OF_LINE = "interception__fee_includes_return"


def statement_export(*, statement_id, actor, file_format):
    """The download of one statement for whoever may see it (finance: any; outlet staff: their own)."""
    require(actor, "settlement.export_statement")
    if file_format not in FORMATS:
        raise DomainError("format_invalid", _("Choose the format csv or xlsx."), status=400)
    statement = find(selectors.statement_list(actor), statement_id, what=_("Statement"))
    name = f"{statement.number}.{file_format}"
    if file_format == "xlsx":
        rows = _in_language(statement_rows(statement), translation.get_language())
        return stream_xlsx(name, rows, title=statement.number)
    return stream_csv_chunks(name, _in_language(statement_csv(statement), translation.get_language()))


def _in_language(rows, language):
    """A streamed file is written after the view returns: keep the request's language for it."""
    with translation.override(language):
        yield from rows


def statement_rows(statement):
    """Header information, a blank row, the column names, every line in order, the total."""
    yield from _head_rows(statement)
    yield from _line_rows(statement)
    yield _total_row(statement)


def statement_csv(statement):
    """statement_rows as CSV text; on PostgreSQL its lines are formatted by the database (kernel.sql_csv)."""
    sql_lines = sql_csv.lines(
        _lines(statement),
        [
            sql_csv.row_number("id"),
            "tracking_number",
            "occurred_at",
            sql_csv.label("result", dict(InterceptionOrder.State.choices)),
            sql_csv.label("kind", dict(StatementLine.Kind.choices)),
            "amount",
            sql_csv.label(RETURN_SHIPPING_OF_LINE, RETURN_SHIPPING),
            "reason",
            "interception_id",
        ],
    )
    yield from csv_chunks(_head_rows(statement))
    yield from csv_chunks(_line_rows(statement)) if sql_lines is None else sql_lines
    yield from csv_chunks([_total_row(statement)])


def _head_rows(statement):
    yield [gettext("Statement"), statement.number]
    yield [gettext("Merchant"), f"{statement.merchant.code} {statement.merchant.name}"]
    yield [gettext("Outlet"), f"{statement.outlet.code} {statement.outlet.name} ({statement.outlet.carrier})"]
    yield [gettext("Period"), f"{statement.period_start:%Y-%m-%d} – {statement.period_end:%Y-%m-%d}"]
    yield [gettext("State"), str(statement.get_state_display())]
    yield [gettext("Lines"), statement.line_count]
    yield [gettext("Total (yuan)"), statement.total]
    yield [gettext("Exported at"), f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"]
    yield []
    yield [str(c) for c in LINE_COLUMNS]


def _lines(statement):
    return statement.lines.order_by("id")


def _line_rows(statement):
    kinds = dict(StatementLine.Kind.choices)
    results = dict(InterceptionOrder.State.choices)
    lines = (
        _lines(statement)
        .values_list(
            "tracking_number",
            "occurred_at",
            "result",
            "kind",
            "amount",
            RETURN_SHIPPING_OF_LINE,
            "reason",
            "interception_id",
        )
        .iterator(chunk_size=5000)
    )
    for n, (tracking, at, result, kind, amount, includes_return, reason, interception) in enumerate(lines, start=1):
        yield [
            n,
            tracking,
            f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S}" if at else "",
            str(results.get(result, result)),
            str(kinds[kind]),
            amount,
            str(return_shipping_label(includes_return)),
            reason,
            interception or "",
        ]


def _total_row(statement):
    return ["", gettext("Total"), "", "", "", statement.total, "", "", ""]


DIFFERENCE_COLUMNS = [
    _("class"),
    _("row in their file"),
    _("tracking number"),
    _("their date"),
    _("their fee"),
    _("our fee"),
    _("contract fee"),
    _("interception"),
    _("detail"),
]


def reconciliation_export(reconciliation):
    kinds = dict(Difference.Kind.choices)
    rows = (
        reconciliation.differences.order_by("kind", "id")
        .values_list(
            "kind",
            "row",
            "tracking_number",
            "billed_on",
            "their_fee",
            "our_fee",
            "contract_fee",
            "interception_id",
            "detail",
        )
        .iterator(chunk_size=5000)
    )
    return stream_csv(
        f"reconciliation-{reconciliation.pk}.csv",
        [str(c) for c in DIFFERENCE_COLUMNS],
        _in_language(
            (
                [str(kinds[k]), row or "", t, f"{d:%Y-%m-%d}" if d else "", theirs, ours, contract, i or "", detail]
                for k, row, t, d, theirs, ours, contract, i, detail in rows
            ),
            translation.get_language(),
        ),
    )
