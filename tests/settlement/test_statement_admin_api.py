"""Statements in the admin and the API: files, buttons, and outlet A never reaching outlet B's statements."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from portal import roles
from settlement import services
from settlement.models import Statement, StatementLine
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(two_outlets):
    """One issued statement at outlet A and one at outlet B."""
    finance = factories.user("fin", roles.FINANCE)
    statements = {}
    for key in ("a", "b"):
        outlet = two_outlets[key]
        merchant, _outlet = factories.contract_setup(outlet=outlet)
        contract = factories.apply(merchant, outlet, fee="4.50")
        from interception import services as interception_services

        interception_services.contract_approve(contract_id=contract.pk, actor=None)
        contract.refresh_from_db()
        for day in (1, 2):
            factories.intercepted(contract, at=datetime(2026, 11, day, 12, tzinfo=SH))
        statement = services.statement_generate(
            actor=finance,
            merchant=merchant,
            outlet=outlet,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
        ).statement
        statements[key] = services.statement_issue(statement_id=statement.pk, actor=finance)
    return {**two_outlets, "finance": finance, "statements": statements}


def download(client, url):
    response = client.get(url)
    return response, b"".join(response.streaming_content)


def test_r22_csv_export_has_header_lines_and_total_and_escapes_formulas(world, client):
    statement = world["statements"]["a"]
    StatementLine.objects.create(
        statement=statement, kind="adjustment", amount=Decimal("-1.00"), reason='=HYPERLINK("http://evil")'
    )
    client.force_login(world["finance"])
    response, body = download(client, f"/admin/settlement/statement/{statement.pk}/export/csv/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Statement", statement.number]
    header = rows.index(
        [
            "No.",
            "tracking number",
            "result at",
            "result",
            "kind",
            "amount (yuan)",
            "return shipping",
            "reason",
            "interception",
        ]
    )
    lines = rows[header + 1 : -1]
    assert len(lines) == 3 and lines[0][5] == "4.50"
    # The contract's fee does not cover the return (R19); an adjustment has no interception to say it of.
    assert [line[6] for line in lines] == ["return shipping charged separately"] * 2 + [""]
    assert lines[2][7] == '\'=HYPERLINK("http://evil")'
    assert rows[-1][1] == "Total" and Decimal(rows[-1][5]) == statement.total


def test_r22_xlsx_export_has_numbers_and_text_never_formulas(world, client):
    statement = world["statements"]["a"]
    StatementLine.objects.create(statement=statement, kind="adjustment", amount=Decimal("-1.00"), reason="@SUM(A1)")
    client.force_login(world["finance"])
    response, body = download(client, f"/admin/settlement/statement/{statement.pk}/export/xlsx/")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Statement", statement.number] + [None] * (len(values[0]) - 2)
    assert all(not (isinstance(v, str) and v.startswith(("=", "@", "+", "-"))) for row in values for v in row)
    assert any(v == "'@SUM(A1)" for row in values for v in row)
    total_row = values[-1]
    assert total_row[1] == "Total" and Decimal(str(total_row[5])) == statement.total


def test_outlet_a_reaches_only_its_statements_in_the_admin(world, client):
    a, b = world["statements"]["a"], world["statements"]["b"]
    client.force_login(world["staff_a"])
    listing = client.get("/admin/settlement/statement/").content.decode()
    assert a.number in listing and b.number not in listing
    assert client.get(f"/admin/settlement/statement/{a.pk}/change/").status_code == 200
    assert client.get(f"/admin/settlement/statement/{b.pk}/change/").status_code == 302  # admin: "does not exist"
    assert client.get(f"/admin/settlement/statement/{b.pk}/export/csv/").status_code == 404
    assert client.get(f"/admin/settlement/statement/{b.pk}/reconcile/").status_code == 404
    response = client.post(f"/admin/settlement/statement/{b.pk}/do/confirm/")
    assert response.status_code == 404
    lines = client.get(f"/admin/settlement/statementline/?statement__id__exact={b.pk}").content.decode()
    assert b.lines.first().tracking_number not in lines
    # The bulk action with B's id smuggled in confirms nothing of B's.
    client.post(
        "/admin/settlement/statement/", {"action": "bulk_confirm", "_selected_action": [b.pk], "confirmed": "1"}
    )
    b.refresh_from_db()
    assert b.state == Statement.State.ISSUED


def test_outlet_staff_confirm_with_the_button_and_finance_records_payment(world, client):
    a = world["statements"]["a"]
    client.force_login(world["staff_a"])
    page = client.get(f"/admin/settlement/statement/{a.pk}/change/").content.decode()
    assert "do/confirm/" in page and "do/dispute/" in page and "do/issue/" not in page and "do/settle/" not in page
    assert client.post(f"/admin/settlement/statement/{a.pk}/do/confirm/").status_code == 302
    a.refresh_from_db()
    assert a.state == Statement.State.CONFIRMED
    client.force_login(world["finance"])
    response = client.post(
        f"/admin/settlement/statement/{a.pk}/do/settle/",
        {"payment_reference": "BANK-77", "paid_at": "2026-12-05 10:00", "paid_amount": "8.00", "difference_reason": ""},
    )
    assert response.status_code == 200 and "give the reason" in response.content.decode()
    client.post(
        f"/admin/settlement/statement/{a.pk}/do/settle/",
        {"payment_reference": "BANK-77", "paid_at": "2026-12-05 10:00", "paid_amount": "9.00"},
    )
    a.refresh_from_db()
    assert a.state == Statement.State.SETTLED and a.paid_at == datetime(2026, 12, 5, 10, tzinfo=SH)


def test_finance_revises_a_disputed_statement_on_the_revise_page(world, client):
    a = world["statements"]["a"]
    services.statement_dispute(statement_id=a.pk, actor=world["staff_a"], reason="one fee is 4.00")
    client.force_login(world["finance"])
    assert "one fee is 4.00" in client.get(f"/admin/settlement/statement/{a.pk}/revise/").content.decode()
    form = {
        "reason": "agreed",
        "adj-TOTAL_FORMS": "5",
        "adj-INITIAL_FORMS": "0",
        "adj-MIN_NUM_FORMS": "0",
        "adj-MAX_NUM_FORMS": "50",
        "adj-0-tracking_number": a.lines.first().tracking_number,
        "adj-0-amount": "-0.50",
        "adj-0-reason": "4.00 agreed",
    }
    response = client.post(f"/admin/settlement/statement/{a.pk}/revise/", form)
    new = Statement.objects.get(previous=a)
    assert response.status_code == 302 and response["Location"].endswith(f"/{new.pk}/change/")
    assert new.total == Decimal("8.50") and new.state == Statement.State.ISSUED


def test_generate_page_for_every_pair_then_nothing_new(world, client):
    client.force_login(world["finance"])
    contract = factories.active_contract(fee="7.00", carrier_code="zto")
    factories.intercepted(contract, at=datetime(2026, 11, 9, tzinfo=SH))
    page = client.post(
        "/admin/settlement/statement/generate/", {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    ).content.decode()
    assert "1 interceptions added" in page
    page = client.post(
        "/admin/settlement/statement/generate/", {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    ).content.decode()
    assert "Nothing new to add" in page
    client.force_login(world["staff_a"])
    assert client.get("/admin/settlement/statement/generate/").status_code == 403


def test_reconcile_page_refuses_a_bad_file_with_rows_and_shows_the_classes(world, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    a = world["statements"]["a"]
    client.force_login(world["staff_a"])
    bad = SimpleUploadedFile("bill.csv", b"tracking_number,date,fee\nZTO1234,not-a-date,4.50\n")
    page = client.post(f"/admin/settlement/statement/{a.pk}/reconcile/", {"bill": bad}).content.decode()
    assert "Row 2, column date" in page and "Nothing was applied" in page
    tracking = a.lines.first().tracking_number
    good = SimpleUploadedFile("bill.csv", f"tracking_number,date,fee\n{tracking},2026-11-01,4.50\n".encode())
    response = client.post(f"/admin/settlement/statement/{a.pk}/reconcile/", {"bill": good}, follow=True)
    page = response.content.decode()
    assert "only in our statement" in page and "matched" in page


def test_online_fee_totals_page_shows_the_platform_keeps_nothing(world, client):
    client.force_login(world["finance"])
    response = client.get("/admin/settlement/onlinefee/totals/")
    assert response.status_code == 200 and "keeps nothing" in response.content.decode()


def test_api_lists_and_exports_only_the_callers_statements(world, api):
    a, b = world["statements"]["a"], world["statements"]["b"]
    merchant_a = factories.api_client_for(merchant=a.merchant)
    listing = api(merchant_a).get("/api/v1/statements/").json()
    assert [s["number"] for s in listing["results"]] == [a.number]
    assert listing["results"][0]["total"] == "9.00"
    assert api(merchant_a).get(f"/api/v1/statements/{b.pk}/").status_code == 404
    response = api(merchant_a).get(f"/api/v1/statements/{a.pk}/export/?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    response = api(merchant_a).get(f"/api/v1/statements/{a.pk}/export/?format=csv")
    assert response.status_code == 200 and a.number in b"".join(response.streaming_content).decode("utf-8-sig")
    assert api(merchant_a).get(f"/api/v1/statements/{b.pk}/export/?format=csv").status_code == 404
    bad = api(merchant_a).get(f"/api/v1/statements/{a.pk}/export/?format=pdf")
    assert bad.status_code == 400 and bad.json()["code"] == "format_invalid"
    staff = api(world["staff_a"])
    assert [s["id"] for s in staff.get("/api/v1/statements/").json()["results"]] == [a.pk]
    assert staff.get(f"/api/v1/statements/{b.pk}/export/?format=csv").status_code == 404


def test_statements_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/statements/{id}/export/" in schema
