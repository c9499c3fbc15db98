"""Reading uploaded CSV/XLSX files and writing cells safely (formula injection)."""
import io

import tablib
from django.utils.translation import gettext_lazy as _

from portal.errors import DomainError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def safe_cell(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unsafe_cell(value):
    """Undo safe_cell on a value read back from one of our own files."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def read_table(uploaded, *, required_columns):
    """A tablib Dataset from an uploaded CSV (UTF-8 or GB18030, as Chinese Excel saves it) or XLSX.

    Refuses, with one clear error, empty, oversized, unreadable files and missing columns.
    """
    name = (getattr(uploaded, "name", "") or "").lower()
    data = uploaded.read() if hasattr(uploaded, "read") else uploaded
    if not data:
        raise DomainError("file_empty", _("The file is empty."), status=400)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError("file_too_large", _("The file is larger than 10 MB."), status=400)
    if name.endswith(".xlsx") or data[:2] == b"PK":
        try:
            dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx")
        except Exception:  # openpyxl raises many types for a broken workbook
            raise DomainError("file_unreadable", _("The file is not a readable XLSX workbook."), status=400) from None
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise DomainError("file_encoding", _("The file is neither UTF-8 nor GB18030 text."), status=400)
        if "\x00" in text:
            raise DomainError("file_unreadable", _("The file is not a CSV text file."), status=400)
        try:
            dataset = tablib.Dataset().load(text, format="csv")
        except Exception:
            raise DomainError("file_unreadable", _("The file is not a readable CSV file."), status=400) from None
    headers = [str(h or "").strip() for h in (dataset.headers or [])]
    dataset.headers = headers
    missing = [c for c in required_columns if c not in headers]
    if missing:
        raise DomainError("columns_missing", _("Columns missing: %(c)s.") % {"c": ", ".join(missing)},
                          errors=[{"code": "column_missing", "column": c, "message": _("missing column")}
                                  for c in missing], status=400)
    return dataset


def write_table(headers, rows, file_format):
    """Bytes of a CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX file; every cell made safe."""
    dataset = tablib.Dataset(headers=headers)
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
    import itertools

    return stream_csv_rows(filename, itertools.chain([header], rows))


def stream_csv_rows(filename, rows):
    """Like stream_csv, for files whose first rows are not a column header (statements: header info first)."""
    import csv

    from django.http import StreamingHttpResponse

    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff".encode()
        batch = []
        for row in rows:
            batch.append(writer.writerow([safe_cell(v) for v in row]))
            if len(batch) == 500:
                yield "".join(batch).encode("utf-8")
                batch = []
        if batch:
            yield "".join(batch).encode("utf-8")

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def stream_xlsx(filename, rows, *, number_format="0.00"):
    """An XLSX download written in XlsxWriter's constant-memory mode to a temporary file, then streamed.

    Text is written as text (never as a formula) and made safe as in CSV; numbers stay numbers.
    """
    import tempfile
    from decimal import Decimal

    import xlsxwriter
    from django.http import FileResponse

    handle = tempfile.TemporaryFile()
    book = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
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
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
