"""Uploaded tables read within limits (portal/spreadsheets.py) and exported cells made formula-safe."""

import io
import re
import zipfile
from datetime import datetime

import openpyxl
import pytest
import xlsxwriter

from kernel import spreadsheets
from kernel.errors import DomainError
from kernel.spreadsheets import read_table, safe_cell, unsafe_cell

COLUMNS = ["kind", "id"]


def named(content, name):
    f = io.BytesIO(content)
    f.name = name
    return f


def refusal(content, name="t.xlsx", columns=COLUMNS):
    with pytest.raises(DomainError) as refused:
        list(read_table(named(content, name), required_columns=columns))
    return refused.value


def xlsx(rows, **options):
    """A workbook as Excel saves one: text in the shared-string table (XlsxWriter's default)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_numbers": False, **options})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def xlsx_bomb(rows):
    """A workbook whose one sheet holds `rows` identical rows: a few hundred KiB that unpack to 60 MB a million."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        with zipfile.ZipFile(io.BytesIO(xlsx([COLUMNS]))) as model:
            for member in model.infolist():
                if member.filename != "xl/worksheets/sheet1.xml":
                    book.writestr(member.filename, model.read(member))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                b'2006/main"><sheetData><row><c t="inlineStr"><is><t>kind</t></is></c></row>'
            )
            for _ in range(rows // 10_000):
                sheet.write(b'<row><c t="inlineStr"><is><t>application</t></is></c></row>' * 10_000)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        " =1+1",
        "  +1",
        '\n=HYPERLINK("http://evil")',
        "\r\n@SUM(A1)",
        " \t-2",
        "\u3000=1",
        "=1",
        "@x",
        "-1",
        "\tplain",
        "\rplain",
    ],
)
def test_cells_starting_with_whitespace_before_a_formula_are_escaped(text):
    assert safe_cell(text) == "'" + text
    assert unsafe_cell(safe_cell(text)) == text


@pytest.mark.parametrize("text", ["plain", " plain", "\nplain", "a=b", "'quoted"])
def test_text_that_is_no_formula_is_left_as_it_is(text):
    assert safe_cell(text) == text
    assert unsafe_cell(text) == text


def test_xlsx_that_unpacks_to_a_million_rows_is_refused_before_parsing():
    bomb = xlsx_bomb(1_000_000)
    assert len(bomb) < 500 * 1024
    refused = refusal(bomb)
    assert refused.code == "file_compression_ratio" and refused.status == 400
    assert "100" in str(refused.message) and "sheet1.xml" in str(refused.message)


def test_xlsx_with_more_rows_than_the_limit_is_refused_before_parsing(settings):
    settings.UPLOAD_MAX_ROWS = 100
    rows = [COLUMNS] + [[f"application {n}", n] for n in range(101)]
    refused = refusal(xlsx(rows))
    assert refused.code == "file_too_many_rows" and "100" in str(refused.message)
    assert len(list(read_table(named(xlsx(rows[:101]), "t.xlsx"), required_columns=COLUMNS))) == 100


def test_rows_an_xlsx_skips_by_number_count_towards_the_limit(settings):
    settings.UPLOAD_MAX_ROWS = 100
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, COLUMNS)
    sheet.write_row(150, 0, ["application", 1])  # row 151: openpyxl yields the 149 empty rows before it
    book.close()
    assert refusal(buffer.getvalue()).code == "file_too_many_rows"


def test_a_csv_over_the_row_limit_is_refused(settings):
    settings.UPLOAD_MAX_ROWS = 3
    content = "kind,id\n" + "application,1\n" * 4
    assert refusal(content.encode(), "t.csv").code == "file_too_many_rows"


def test_an_xlsx_that_unpacks_past_the_limit_is_refused(monkeypatch):
    content = xlsx([COLUMNS] + [[f"application {n}", n] for n in range(2000)])
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 50_000)
    assert refusal(content).code == "file_unpacked_too_large"


def test_a_part_that_openpyxl_parses_whole_is_refused_when_too_big(monkeypatch):
    content = xlsx([COLUMNS, ["application", 1]])
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        biggest = max((m for m in book.infolist() if "worksheets" not in m.filename), key=lambda m: m.file_size)
    monkeypatch.setattr(spreadsheets, "MAX_PART_BYTES", biggest.file_size - 1)
    refused = refusal(content)
    assert refused.code == "file_part_too_large" and biggest.filename in str(refused.message)


def test_a_worksheet_may_be_bigger_than_a_part(monkeypatch):
    rows = [COLUMNS] + [[f"application {n}", n] for n in range(3000)]
    monkeypatch.setattr(spreadsheets, "MAX_PART_BYTES", 20_000)
    assert len(list(read_table(named(xlsx(rows), "t.xlsx"), required_columns=COLUMNS))) == 3000


def test_shared_strings_rich_text_numbers_and_dates_are_read_as_openpyxl_reads_them():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet, bold = book.add_worksheet(), book.add_format({"bold": True})
    sheet.write_row(0, 0, ["kind", "id", "note", "when"])
    sheet.write_rich_string(1, 0, "appli", bold, "cation")
    sheet.write_number(1, 1, 42)
    sheet.write_string(1, 2, "中文 x005F_ and ' =1")
    sheet.write_datetime(1, 3, datetime(2026, 11, 1, 9, 30), book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    sheet.write_string(2, 0, "kind")  # a string shared with the header
    book.close()
    columns = ["kind", "id", "note", "when"]
    rows = list(read_table(named(buffer.getvalue(), "t.xlsx"), required_columns=columns))
    expected = list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(min_row=2, values_only=True))
    assert [values for _number, values in rows] == [tuple(r) for r in expected]
    assert rows[0] == (2, ("application", 42, "中文  and ' =1", datetime(2026, 11, 1, 9, 30)))
    assert rows[1][1][:2] == ("kind", None)


def test_a_stale_dimension_in_the_sheet_does_not_drop_rows():
    content = xlsx([COLUMNS] + [["application", n] for n in range(5)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:B2"/>', data)
            book.writestr(member.filename, data)
    rows = list(read_table(named(buffer.getvalue(), "t.xlsx"), required_columns=COLUMNS))
    assert [values[1] for _n, values in rows] == [0, 1, 2, 3, 4]


def test_an_xml_entity_bomb_in_a_workbook_is_refused_as_unreadable():
    entities = "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10 if i else "lol" * 10}">' for i in range(9))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY lol0 "lol">{entities}]><sst xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    )
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx([COLUMNS, ["a", 1]]))) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book,
    ):
        for member in source.infolist():
            book.writestr(member.filename, bomb if member.filename == "xl/sharedStrings.xml" else source.read(member))
    assert refusal(buffer.getvalue()).code == "file_unreadable"  # expat stops the expansion (billion laughs)


def test_only_the_asked_columns_are_kept_and_row_numbers_are_the_spreadsheets():
    content = b"note,kind,extra,id\nx,application,y,1\n\n,fee_change\n"
    table = read_table(named(content, "t.csv"), required_columns=["id", "kind"])
    assert table.columns == ["id", "kind"]
    assert list(table) == [(2, ("1", "application")), (3, (None, None)), (4, (None, "fee_change"))]


@pytest.mark.parametrize(
    "content, code",
    [
        (b"kind,id\n" + b"x" * (2 * 1024 * 1024), "file_unreadable"),  # one line of 2 MB
        (b'kind,id\napplication,"' + b"x" * 200_000 + b'"\n', "file_unreadable"),  # a cell above 128 KiB
        (b"kind,id\napplication,1\x00\n", "file_unreadable"),
        (b"kind,id\n\xff\xfe\xfd\n", "file_encoding"),
    ],
)
def test_malformed_csv_is_refused_whole(content, code):
    assert refusal(content, "t.csv").code == code


def test_gb18030_with_a_bom_is_read():
    content = "\ufeffkind,id\n申请,1\n".encode("gb18030")
    assert list(read_table(named(content, "t.csv"), required_columns=COLUMNS)) == [(2, ("申请", "1"))]


def test_an_oversized_file_is_refused_from_its_declared_size_without_being_read():
    class Declared(io.BytesIO):
        name, size = "big.csv", spreadsheets.MAX_UPLOAD_BYTES + 1

        def read(self, *args):
            raise AssertionError("read")

    with pytest.raises(DomainError) as refused:
        read_table(Declared(), required_columns=COLUMNS)
    assert refused.value.code == "file_too_large"
