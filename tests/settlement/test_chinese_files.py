"""Issue 19: files in Chinese. Outlets' bills with Chinese headers and the dates Excel writes; our exports with
Chinese sheet names, headers, values and money; files we read accept both the Chinese and the English headers."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from kernel.spreadsheets import parse_day
from portal import roles
from settlement import services
from settlement.models import Difference
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def client(client, settings):
    """Unlike the other settlement tests, these read the portal's Chinese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


@pytest.fixture
def setup(db):
    finance = factories.user("fin", roles.FINANCE)
    contract = factories.active_contract(fee="4.50", carrier_code="zto")
    orders = [factories.intercepted(contract, at=datetime(2026, 11, d, 12, tzinfo=SH)) for d in (1, 2, 5)]
    statement = services.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement
    return {"finance": finance, "orders": orders, "statement": statement}


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        (46331, date(2026, 11, 5)),
        (46331.4166, date(2026, 11, 5)),
        ("46331", date(2026, 11, 5)),
        ("2026/11/05 10:00", date(2026, 11, 5)),
        ("2026年11月5日", date(2026, 11, 5)),
        ("2026-11-05", date(2026, 11, 5)),
        ("4.50", None),
        (4.5, None),
        ("下周", None),
    ],
)
def test_bill_dates_as_excel_writes_them(cell, day):
    assert parse_day(cell) == day


def test_a_bill_with_chinese_headers_and_excel_dates_is_read(setup):
    a, b, c = (o.tracking_number for o in setup["orders"])
    data = tablib.Dataset(headers=["运单号", "日期", "费用", "备注"])
    data.append([a, 46327, 4.5, ""])  # 2026-11-01 as a date number
    data.append([b, "2026/11/02 10:00", "4.50", ""])
    data.append([c, "2026年11月5日", "4.50", ""])
    rec = services.reconciliation_run(
        statement_id=setup["statement"].pk,
        actor=setup["finance"],
        uploaded=SimpleUploadedFile("账单.xlsx", data.export("xlsx")),
    )
    differences = list(rec.differences.all())
    assert {d.kind for d in differences} == {Difference.Kind.MATCHED}
    assert {d.billed_on for d in differences} == {date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)}


def test_statement_list_shows_money_as_yuan(setup, client):
    client.force_login(setup["finance"])
    page = client.get("/admin/settlement/statement/?state__exact=draft").content.decode()
    assert "¥13.50" in page


def test_interception_export_says_states_platforms_and_carriers_in_chinese(setup, client):
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    response = client.get("/admin/interception/interceptionorder/export/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, first = rows[0], rows[1]
    assert "中通 ZTO" in first
    assert header[:2] == ["拦截单", "运单号"]
    assert "拦截成功" in first and "快手" in first and "线下结算" in first and "是" in first
    assert "succeeded" not in first and "offline" not in first and "kuaishou" not in first


def test_decision_file_has_a_chinese_sheet_and_headers(client):
    outlet = factories.OutletFactory(code="Q-9")
    factories.apply(factories.contract_setup(outlet=outlet)[0], outlet)
    client.force_login(factories.outlet_staff("staff_q", outlet))
    response = client.get("/admin/interception/contract/decisions/export/", {"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["待审核申请"]
    header = next(book.active.iter_rows(values_only=True))
    assert header[:3] == ("类型", "编号", "商家编码")


def test_statement_xlsx_is_named_after_the_statement_and_says_results_in_chinese(setup, client):
    statement = setup["statement"]
    client.force_login(setup["finance"])
    response = client.get(f"/admin/settlement/statement/{statement.pk}/export/xlsx/")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert book.sheetnames == [statement.number[:31]]
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "拦截成功" in cells and "succeeded" not in cells
