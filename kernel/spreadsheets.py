"""Reading uploaded CSV/XLSX files within fixed limits, and writing cells safely (formula injection).

An upload is checked before its rows are parsed: its size; for an XLSX, what its parts unpack to, their
compression ratio and how many rows its sheets hold; for a CSV, its encoding and how many rows it holds.
A file over a limit is refused at once. Then it is read row by row (the csv module, openpyxl in
read-only mode), keeping only the columns asked for, so memory does not grow with the file.
"""

import csv
import functools
import io
import itertools
import re
import tempfile
import zipfile
import zlib
from array import array
from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import tablib
import xlsxwriter
from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kernel.errors import DomainError

FORMULA_STARTS = ("=", "+", "-", "@")
# A spreadsheet (or a CSV import that trims cells) may run " =1+1" or "\n@SUM()" as a formula; tab and CR
# first are escaped whatever follows, as OWASP advises.
CONTROL_STARTS = ("\t", "\r")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# What an XLSX may unpack to. Our own 50,000-row decision file is 33 MB of sheet XML (12 columns); a bill of
# that many rows with 20 columns about 40 MB. The sheets are streamed, so this bounds time, not memory.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Spreadsheet XML deflates 5 to 20 times (our exports 12); a zip bomb needs hundreds. Parts below 1 MiB are
# too small to matter whatever their ratio.
MAX_COMPRESSION_RATIO = 100
RATIO_FREE_BYTES = 1024 * 1024
# openpyxl parses every part but the sheets whole (styles, workbook, relationships...), at about ten times
# their size in memory: they must stay small. The shared strings are kept compact (see _SharedStrings).
MAX_PART_BYTES = 2 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
MAX_LISTED_ERRORS = 200
MAX_LINE_BYTES = 1024 * 1024  # a CSV line; the csv module refuses any cell above 128 KiB anyway
CHUNK = 1024 * 1024
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
# Parts openpyxl reads whole from a fixed path, whatever the manifest says they are.
WHOLE_PARTS = {
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/styles.xml",
    "xl/theme/theme1.xml",
    "docProps/core.xml",
    "docProps/app.xml",
    "docProps/custom.xml",
}
# What a damaged, encrypted or exotic zip raises while it is opened or a part decompressed.
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)
ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


def _escapes(text):
    return text.startswith(CONTROL_STARTS) or text.lstrip().startswith(FORMULA_STARTS)


def safe_cell(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and _escapes(value):
        return "'" + value
    return value


def unsafe_cell(value):
    """Undo safe_cell on a value read back from one of our own files."""
    if isinstance(value, str) and value.startswith("'") and _escapes(value[1:]):
        return value[1:]
    return value


# --- errors of a file ------------------------------------------------------------------------------------------------


class FileErrors:
    """The errors of one file: every one counted, the first MAX_LISTED_ERRORS kept (a million bad rows stay small)."""

    def __init__(self):
        self.listed, self.total = [], 0

    def add(self, error):
        self.total += 1
        if len(self.listed) < MAX_LISTED_ERRORS:
            self.listed.append(error)

    def __bool__(self):
        return self.total > 0

    def __iter__(self):
        return iter(self.listed)

    @property
    def more(self):
        return self.total - len(self.listed)

    @property
    def more_text(self):
        return more_errors_text(self.more)


def more_errors_text(more):
    return _("… and %(n)s more errors") % {"n": f"{more:,}"}


class FileRefused(DomainError):
    """A file refused for errors in its rows: the first MAX_LISTED_ERRORS listed, the total in the detail."""

    def __init__(self, code, message, *, errors, status=400):
        self.total = errors.total
        if errors.more:
            message = format_lazy(
                "{} {}",
                message,
                _("%(total)s errors in all; the first %(n)s are listed.")
                % {"total": f"{errors.total:,}", "n": len(errors.listed)},
            )
        super().__init__(code, message, errors=errors.listed, status=status)

    @property
    def more(self):
        return self.total - len(self.errors)

    @property
    def more_text(self):
        return more_errors_text(self.more)


# --- reading ---------------------------------------------------------------------------------------------------------


def max_rows():
    return settings.UPLOAD_MAX_ROWS


def _refuse(code, message):
    raise DomainError(code, message, status=400)


def _too_many_rows():
    _refuse(
        "file_too_many_rows",
        _("The file has more than %(n)s rows, the limit (UPLOAD_MAX_ROWS): split it into smaller files.")
        % {"n": f"{max_rows():,}"},
    )


class Table:
    """An uploaded table read row by row: iterating yields (row number, values of `columns`), once.

    Row 1 holds the column names, so the first data row is row 2, as a spreadsheet numbers it.
    """

    def __init__(self, columns, rows):
        self.columns = list(columns)
        self._rows = rows

    def __iter__(self):
        return self._rows


# Column names people write in Chinese for the ones our files and the outlets' bills name in English: a file
# may use either (an outlet's bill says 运单号, 日期, 费用; our own exports say their columns in Chinese).
HEADER_ALIASES = {
    "tracking_number": ["运单号", "快递单号"],
    "date": ["日期", "时间"],
    "fee": ["费用", "金额", "费用（元）", "费用(元)"],
}


def column_label(name, aliases=None):
    """A column as people write it: its first other name when it has one (运单号 for tracking_number)."""
    return ((aliases or {}).get(name) or HEADER_ALIASES.get(name) or [name])[0]


def _find_column(headers, name, aliases):
    for candidate in [name, *aliases.get(name, ()), *HEADER_ALIASES.get(name, ())]:
        if candidate in headers:
            return headers.index(candidate)
    return None


def read_table(uploaded, *, required_columns, aliases=None):
    """The rows of an uploaded CSV (UTF-8 or GB18030, as Chinese Excel saves it) or XLSX, as a Table.

    Refuses, with one clear error, empty, oversized, unreadable files, files over a limit and missing columns.
    `uploaded` is a file object (a Django upload: one above 2.5 MB lies in a temporary file) or bytes. A column
    is found by its name or by one of its other names (`aliases`: name -> [names], beside HEADER_ALIASES); the
    rows are keyed by the names asked for.
    """
    headers, rows = read_rows(uploaded)
    aliases = aliases or {}
    found = {c: _find_column(headers, c, aliases) for c in required_columns}
    missing = [c for c, index in found.items() if index is None]
    if missing:
        rows.close()  # an XLSX's archive
        raise DomainError(
            "columns_missing",
            _("Columns missing: %(c)s.") % {"c": "、".join(str(column_label(c, aliases)) for c in missing)},
            errors=[{"code": "column_missing", "column": c, "message": _("missing column")} for c in missing],
            status=400,
        )
    return Table(required_columns, _pick(rows, [found[c] for c in required_columns]))


def read_rows(uploaded):
    """(column names, rows) of an upload, every column kept, after the same checks as read_table: for a
    reader that needs the whole row (django-import-export's datasets)."""
    if isinstance(uploaded, (bytes, bytearray)):
        uploaded = io.BytesIO(uploaded)
    name = (getattr(uploaded, "name", "") or "").lower()
    size = getattr(uploaded, "size", None)
    if size is None:
        size = uploaded.seek(0, io.SEEK_END)
    if size > MAX_UPLOAD_BYTES:  # the declared size: nothing is read
        _refuse("file_too_large", _("The file is larger than 10 MB."))
    uploaded.seek(0)
    head = uploaded.read(4)
    uploaded.seek(0)
    if not size or not head:
        _refuse("file_empty", _("The file is empty."))
    if name.endswith(".xlsx") or head[:2] == b"PK":
        headers, rows = _read_xlsx(uploaded)
    else:
        headers, rows = _read_csv(uploaded)
    return [str(h or "").strip() for h in headers], rows


def _pick(rows, indexes):
    """Only the wanted columns of each row, as a tuple (a row of a wide file costs no more than a narrow one's)."""
    width = max(indexes) + 1
    for number, row in enumerate(rows, start=2):
        if len(row) < width:
            row = tuple(row) + (None,) * (width - len(row))
        yield number, tuple(row[i] for i in indexes)


def _read_csv(uploaded):
    """(headers, rows) of a CSV whose encoding, text and row count were checked in a first pass."""
    encoding = _check_csv(uploaded)
    uploaded.seek(0)
    rows = csv.reader(_lines(uploaded, encoding))
    return next(rows, []), (row for row in rows)


def _lines(uploaded, encoding):
    # A line break byte never occurs inside a UTF-8 or GB18030 character, so binary lines decode one by one.
    source = getattr(uploaded, "file", None) or uploaded
    first = True
    while raw := source.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            _refuse("file_unreadable", _("The file is not a CSV text file."))
        line = raw.decode(encoding)
        if "\x00" in line:  # a binary file that happens to decode
            _refuse("file_unreadable", _("The file is not a CSV text file."))
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


def _check_csv(uploaded):
    """The file's encoding, once it has decoded whole and held no NUL and no more rows than the limit."""
    for encoding in ("utf-8", "gb18030"):
        uploaded.seek(0)
        try:
            records = -1  # the header is no data row
            for _record in csv.reader(_lines(uploaded, encoding)):
                records += 1
                if records > max_rows():
                    _too_many_rows()
            return encoding
        except UnicodeDecodeError:
            continue
        except csv.Error:  # a cell longer than the csv module's field limit (128 KiB), a stray quote
            _refuse("file_unreadable", _("The file is not a CSV text file."))
    _refuse("file_encoding", _("The file is neither UTF-8 nor GB18030 text."))


def _read_xlsx(uploaded):
    """(headers, rows) of the workbook's active sheet, once its parts passed every limit, read in streaming mode."""
    try:
        archive = zipfile.ZipFile(uploaded)
    except ARCHIVE_ERRORS:
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    with archive:
        _check_archive(archive)
    uploaded.seek(0)
    try:
        book = _reader_class()(uploaded, read_only=True, data_only=True, keep_links=False)
        book.read()
        sheet = book.wb.active
        sheet.reset_dimensions()  # a stale <dimension> would cut rows off silently
        rows = sheet.iter_rows(values_only=True)
        headers = next(rows, ())
    except DomainError:
        raise
    except Exception:  # openpyxl raises many types for a broken workbook
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    return headers, _counted(rows, book.wb)


def _counted(rows, workbook):
    """The sheet's rows, refused past the limit (rows the file skips come as empty rows and count too)."""
    try:
        for count, row in enumerate(rows, start=1):
            if count > max_rows():
                _too_many_rows()
            yield row
    except DomainError:
        raise
    except Exception:
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    finally:
        workbook.close()


def _check_archive(archive):
    """Refuse a workbook that would unpack to too much, or that claims an absurd ratio, before openpyxl reads it."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        _refuse(
            "file_unpacked_too_large",
            _("The XLSX file unpacks to more than %(n)s MB, the limit.") % {"n": MAX_UNPACKED_BYTES // 2**20},
        )
    for m in members:
        if m.file_size > RATIO_FREE_BYTES and m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1):
            _refuse(
                "file_compression_ratio",
                _(
                    "A part of the XLSX file (%(part)s) unpacks to more than %(n)s times "
                    "its packed size, the limit: refused as a zip bomb."
                )
                % {"part": m.filename[:100], "n": MAX_COMPRESSION_RATIO},
            )
    manifest = next((m for m in members if m.filename == "[Content_Types].xml"), None)
    if manifest is None or manifest.file_size > MAX_PART_BYTES:
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    kinds = _declared_types(archive)
    for m in members:
        declared = kinds.get(m.filename, set())
        if declared == {WORKSHEET_TYPE} and m.filename not in WHOLE_PARTS and not m.filename.endswith(".rels"):
            continue  # streamed
        limit = MAX_SHARED_STRINGS_BYTES if declared == {SHARED_STRINGS_TYPE} else MAX_PART_BYTES
        if m.file_size > limit:
            _refuse(
                "file_part_too_large",
                _(
                    "A part of the XLSX file (%(part)s) unpacks to more than %(n)s MB, the "
                    "limit. Save the sheet as CSV and upload that."
                )
                % {"part": m.filename[:100], "n": limit // 2**20},
            )
    for m in members:  # every part: openpyxl finds its sheets through relationships, not by name
        if _count_rows(archive, m) - 1 > max_rows():
            _too_many_rows()


def _declared_types(archive):
    """Part name -> the content types the manifest declares for it."""
    try:
        # expat (2.4+, which this Python carries) refuses entity expansion bombs, and ElementTree resolves no
        # external entities; a test feeds both.
        root = ElementTree.fromstring(archive.read("[Content_Types].xml"))  # noqa: S314
    except (ElementTree.ParseError, *ARCHIVE_ERRORS):
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    kinds = {}
    for element in root:
        if element.tag.endswith("Override"):
            kinds.setdefault(element.get("PartName", "").lstrip("/"), set()).add(element.get("ContentType"))
    return kinds


def _count_rows(archive, member):
    """The row elements of one part, counted while it is decompressed in chunks (nothing is parsed)."""
    count, carry = 0, b""
    try:
        with archive.open(member) as part:
            while chunk := part.read(CHUNK):
                data = carry + chunk
                cut = data.rfind(b"<")  # a row tag holds no other "<": only the last one may be cut off
                if cut < 0:
                    carry = b""
                    continue
                count += len(ROW_TAG.findall(data, 0, cut))
                carry = data[cut : cut + 128]
            count += len(ROW_TAG.findall(carry))
    except ARCHIVE_ERRORS:
        _refuse("file_unreadable", _("The file is not a readable XLSX workbook."))
    return count


class _SharedStrings:
    """A workbook's shared strings in two flat buffers instead of one Python object each: a table of a million
    two-letter strings would otherwise take ten times its XML's size in memory."""

    def __init__(self):
        self._text, self._ends = bytearray(), array("Q")

    def append(self, text):
        self._text += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._text))

    def __len__(self):
        return len(self._ends)

    def __getitem__(self, index):
        if index < 0:
            raise IndexError(index)
        start = self._ends[index - 1] if index else 0
        return self._text[start : self._ends[index]].decode("utf-8", "surrogatepass")


def _read_shared_strings(source):
    """openpyxl's read_string_table, keeping the strings compact and the parsed tree empty as it goes."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    item, text, run = main + "si", main + "t", main + "r"
    strings, root = _SharedStrings(), None
    for event, element in ElementTree.iterparse(source, events=("start", "end")):  # noqa: S314 - see above
        if root is None:
            root = element
        elif event == "end" and element.tag == item:
            # The cell's plain text and its formatted runs' text; phonetic guides (rPh) are not cell text.
            parts = [element.findtext(text) or ""] if element.find(text) is not None else []
            parts += [r.findtext(text) or "" for r in element.iterfind(run)]
            strings.append("".join(parts).replace("x005F_", ""))
            root.clear()
    return strings


@functools.cache
def _reader_class():
    """openpyxl's reader with compact shared strings (openpyxl is imported when the first XLSX arrives: 17 MiB)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class StreamingReader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = _read_shared_strings(source)

    return StreamingReader


# --- days as spreadsheets write them -------------------------------------------------------------------------------

DAY_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
)
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
# Serial numbers of plausible bill dates (2000 to 2099): a fee or a count is not mistaken for a date.
EXCEL_DAYS = range(36526, 73051)


def parse_day(value):
    """A calendar day from a cell: a date, an Excel date number (46331 is 2026-11-05), `2026-11-05`,
    `2026/11/05 10:00` or `2026年11月5日`; None when it is none of these."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return EXCEL_EPOCH + timedelta(days=int(value)) if int(value) in EXCEL_DAYS else None
    text = str(value or "").strip()
    if text.isdigit() and len(text) == 5:
        return parse_day(int(text))
    for fmt in DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# --- writing ---------------------------------------------------------------------------------------------------------


def write_table(headers, rows, file_format, *, title=""):
    """Bytes of a CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX file; every cell made safe. `title` names
    the XLSX's sheet (tablib's default reads "Tablib Dataset")."""
    dataset = tablib.Dataset(headers=[str(h) for h in headers], title=sheet_title(title or _("Sheet")))
    for row in rows:
        dataset.append([safe_cell(v) for v in row])
    if file_format == "xlsx":
        return dataset.export("xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return ("\ufeff" + dataset.export("csv")).encode("utf-8"), "text/csv; charset=utf-8"


class _Echo:
    def write(self, value):
        return value


def stream_csv(filename, header, rows):
    """A streamed CSV download (constant memory at any size): UTF-8 with BOM, every cell made safe."""

    return stream_csv_rows(filename, itertools.chain([header], rows))


def stream_csv_rows(filename, rows):
    """Like stream_csv, for files whose first rows are not a column header (statements: header info first)."""
    return stream_csv_chunks(filename, csv_chunks(rows))


def csv_chunks(rows):
    """The CSV text of `rows` (every cell made safe), in pieces of 500 lines."""
    writer = csv.writer(_Echo())
    batch = []
    for row in rows:
        batch.append(writer.writerow([safe_cell(v) for v in row]))
        if len(batch) == 500:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def stream_csv_chunks(filename, chunks):
    """A streamed CSV download of pieces of CSV text (csv_chunks) or its UTF-8 bytes (kernel.sql_csv.lines), with
    the BOM."""

    def content():
        yield "\ufeff".encode()
        for chunk in chunks:
            yield chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")

    response = StreamingHttpResponse(content(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def sheet_title(text):
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(text))[:31] or "Sheet1"


def stream_xlsx(filename, rows, *, number_format="0.00", title=""):
    """An XLSX download written in XlsxWriter's constant-memory mode to a temporary file, then streamed.

    Text is written as text (never as a formula) and made safe as in CSV; numbers stay numbers.
    """

    handle = tempfile.TemporaryFile()
    book = xlsxwriter.Workbook(
        handle, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(sheet_title(title) if title else None)
    money = book.add_format({"num_format": number_format})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                sheet.write_number(r, c, value, money if isinstance(value, Decimal) else None)
            else:
                sheet.write_string(r, c, safe_cell(str(value)))
    book.close()
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
