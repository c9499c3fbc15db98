"""CSV lines written by PostgreSQL: the same bytes as `spreadsheets.stream_csv`, formatted where the rows are.

Formatting 100,000 statement lines in Python (a time-zone conversion, a Decimal and a safe-cell check per
cell, then the csv module) costs several times what the database needs to read them. Here every cell is
formatted in SQL exactly as the Python path formats it (times in the current time zone as
`%Y-%m-%d %H:%M:%S`, amounts as their Decimal text, booleans as True/False, empty for NULL, text escaped
like `safe_cell` and quoted like the csv module's QUOTE_MINIMAL), each row joined into its line, and the
lines come through `COPY (…) TO STDOUT` as the database writes them, so the download stays streamed and
Python touches only bytes. PostgreSQL only: `lines` answers None elsewhere (the demo's SQLite) and the
caller keeps its Python path.

Why not `COPY … (FORMAT csv)` of the columns themselves: it ends lines with LF where the csv module
writes CRLF, and quotes an empty string where the csv module writes nothing. One text column per row in
COPY's text format instead: its LF becomes CRLF, and the few escapes it writes are undone.
"""

import re

from django.db import connections, models
from django.db.models import Case, F, Q, Value, When, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

from kernel.spreadsheets import CONTROL_STARTS, FORMULA_STARTS, csv_chunks

# Python's str.lstrip() strips these (str.isspace); safe_cell looks past them for a formula sign.
_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_QUOTED = (",", '"', "\r", "\n")  # what the csv module quotes (delimiter, quote character, line ends)


def _chars(text):
    """A constant text as SQL without a parameter or an escape: chr(9) || chr(61) … (folded when planned)."""
    return " || ".join(f"chr({ord(c)})" for c in text)


def _codes(chars):
    return ", ".join(str(ord(c)) for c in chars)


# {x} is the cell's text. Only plain string functions (strpos, ascii, ltrim), several times cheaper per row
# than a regular expression: safe_cell's apostrophe in front, and the csv module's quotes around when the
# text holds a character it quotes (the apostrophe adds none).
_NEEDS_QUOTES = "(" + " OR ".join(f"strpos({{x}}, {_chars(c)}) > 0" for c in _QUOTED) + ")"
# ascii() is the first character's code: one integer comparison for most texts; ltrim only after a space.
_UNSAFE = (
    f"(ascii({{x}}) IN ({_codes(CONTROL_STARTS + FORMULA_STARTS)}) OR (ascii({{x}}) IN ({_codes(_SPACES)})"
    f" AND ascii(ltrim({{x}}, {_chars(_SPACES)})) IN ({_codes(FORMULA_STARTS)})))"
)
_QUOTE = "chr(34)"
# Each test once per row; the quote doubling only where quotes are written (a text without them has none).
_TEXT_CELL = (
    f"CASE WHEN {{x}} IS NULL THEN '' WHEN {_NEEDS_QUOTES} THEN "
    f"{_QUOTE} || CASE WHEN {_UNSAFE} THEN chr(39) ELSE '' END || replace({{x}}, {_QUOTE}, {_QUOTE} || {_QUOTE})"
    f" || {_QUOTE} WHEN {_UNSAFE} THEN chr(39) || {{x}} ELSE {{x}} END"
)
PIECE = 256 * 1024  # bytes of the download per piece
_NUMBERS = (models.IntegerField, models.DecimalField, models.AutoField, models.DateField)


def supported(queryset):
    return connections[queryset.db].vendor == "postgresql"


class _TextCell(models.Func):
    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # The expression appears several times: its parameters go with each appearance, in order.
        return _TEXT_CELL.replace("{x}", f"({sql})::text"), list(params) * _TEXT_CELL.count("{x}")


def text(expression):
    """A text cell: NULL empty, made safe as safe_cell does, quoted as the csv module does."""
    return _TextCell(expression)


def number(name):
    """A number or a date, as str() writes it (a Decimal keeps its places: 3.00); never escaped nor quoted."""
    return models.Func(
        Cast(F(name), models.TextField()), Value(""), function="COALESCE", output_field=models.TextField()
    )


def boolean(name):
    return Case(
        When(Q(**{name: True}), then=Value("True")),
        When(Q(**{name: False}), then=Value("False")),
        default=Value(""),
        output_field=models.TextField(),
    )


def local_time(name):
    """A moment as `timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")` writes it."""
    return models.Func(
        F(name),
        Value(timezone.get_current_timezone_name()),
        arg_joiner=" AT TIME ZONE ",
        template="COALESCE(to_char(%(expressions)s, 'YYYY-MM-DD HH24:MI:SS'), '')",
        output_field=models.TextField(),
    )


def row_number(order_by):
    """1, 2, 3 … in the order of `order_by` (the queryset's own), as enumerate(start=1) numbers rows."""
    return Cast(Window(RowNumber(), order_by=F(order_by).asc()), models.TextField())


def label(name, labels):
    """A choice as its label (`labels`: value → text in the current language), made safe and quoted as text.
    The labels are made cells here, once; the database only picks one per row."""
    return Case(
        *[When(Q(**{name: value}), then=Value(_python_cell(str(shown)))) for value, shown in labels.items()],
        default=text(F(name)),
        output_field=models.TextField(),
    )


def _python_cell(value):
    """One text cell as stream_csv writes it (one field alone on a row would be quoted when empty: not here)."""
    return next(csv_chunks([[value, ""]])).removesuffix(",\r\n") if value else ""


def cell(queryset, name):
    """The cell for field path `name` of the queryset's model, by the field's type."""
    field = _field(queryset.model, name)
    if isinstance(field, models.DateTimeField):
        return local_time(name)
    if isinstance(field, models.BooleanField):
        return boolean(name)
    if isinstance(field, _NUMBERS) or (field.is_relation and isinstance(field.target_field, _NUMBERS)):
        return number(name)
    if isinstance(field, (models.CharField, models.TextField)):
        return text(F(name))
    raise TypeError(f"no CSV cell for {name} ({field.__class__.__name__})")


def lines(queryset, cells):
    """The CSV lines (CRLF-ended) of the queryset's rows in its order, as pieces of UTF-8 bytes; `cells` are
    field paths or expressions from this module. None when the database is not PostgreSQL."""
    if not supported(queryset):
        return None
    expressions = [cell(queryset, c) if isinstance(c, str) else c for c in cells]
    line = models.Func(
        *expressions, arg_joiner=" || ',' || ", output_field=models.TextField(), template="(%(expressions)s)"
    )
    sql, params = queryset.values_list(line, flat=True).query.sql_with_params()
    return _copied(queryset.db, f"COPY ({sql}) TO STDOUT", params)


# COPY's text format ends each row with LF and writes these characters of a value as escapes.
_COPY_ESCAPES = re.compile(rb"\\(.)", re.DOTALL)
_COPY_UNESCAPED = {b"\\": b"\\", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _copied(using, sql, params):
    """The rows of `sql`, one text column each, through COPY … TO STDOUT: the database's bytes gathered into
    pieces of about PIECE bytes (it sends a message per row), each row's LF made CRLF and the escapes of its
    value undone (a line holds an escape only where a cell holds a line break, a tab or a backslash). Pieces
    end at a row's end so that no escape is cut."""
    with connections[using].cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        parts, size = [], 0
        for block in copy:
            parts.append(block)
            size += len(block)
            if size >= PIECE:
                piece = b"".join(parts)
                end = piece.rfind(b"\n") + 1
                parts, size = [piece[end:]], len(piece) - end
                yield _row_ends(piece[:end])
        if size:
            yield _row_ends(b"".join(parts))


def _row_ends(block):
    block = block.replace(b"\n", b"\r\n")  # every raw LF ends a row: one inside a value is written \n
    if b"\\" in block:
        block = _COPY_ESCAPES.sub(lambda m: _COPY_UNESCAPED.get(m.group(1), m.group(1)), block)
    return block


def _field(model, path):
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])
