"""Three-way reconciliation of the outlet's bill (their bill, our statement, the contract fee)."""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from kernel.errors import DomainError
from portal import roles
from settlement import selectors, services
from settlement.models import BillFormat, Difference, Reconciliation
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def setup(db):
    finance = factories.user("fin", roles.FINANCE)
    contract = factories.active_contract(fee="4.50", carrier_code="zto")
    orders = [factories.intercepted(contract, at=datetime(2026, 11, d, 12, tzinfo=SH)) for d in (1, 2, 3, 4)]
    failed = factories.intercepted(contract, result="failed", at=datetime(2026, 11, 5, tzinfo=SH))
    statement = services.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement
    return {"finance": finance, "contract": contract, "orders": orders, "failed": failed, "statement": statement}


def csv_file(rows, header=("tracking_number", "date", "fee"), name="bill.csv", encoding="utf-8"):
    text = ",".join(header) + "\n" + "".join(",".join(str(c) for c in row) + "\n" for row in rows)
    return SimpleUploadedFile(name, text.encode(encoding))


def run(setup, uploaded):
    return services.reconciliation_run(statement_id=setup["statement"].pk, actor=setup["finance"], uploaded=uploaded)


def kinds(reconciliation):
    return {(d.kind, d.tracking_number) for d in reconciliation.differences.all()}


def test_every_difference_class_is_found(setup):
    a, b, c, d = (o.tracking_number for o in setup["orders"])
    rec = run(
        setup,
        csv_file(
            [
                (a, "2026-11-01", "4.50"),  # matched
                (b, "2026-11-02", "5.00"),  # fee differs
                (b, "2026-11-02", "5.00"),  # duplicate line
                ("ZTO9999999999", "2026-11-03", "4.50"),  # only in their bill
                (setup["failed"].tracking_number, "2026-11-05", "4.50"),  # they bill a failed interception
                (c, "2026/11/03", "4.5"),  # matched (other date format, fewer decimals)
            ]
        ),
    )  # d: only in our statement
    D = Difference.Kind
    assert kinds(rec) == {
        (D.MATCHED, a),
        (D.FEE_DIFFERS, b),
        (D.DUPLICATE, b),
        (D.ONLY_THEIRS, "ZTO9999999999"),
        (D.NOT_CHARGEABLE, setup["failed"].tracking_number),
        (D.MATCHED, c),
        (D.ONLY_OURS, d),
    }
    fee = rec.differences.get(kind=D.FEE_DIFFERS)
    assert (fee.their_fee, fee.our_fee, fee.contract_fee, fee.row) == (
        Decimal("5.00"),
        Decimal("4.50"),
        Decimal("4.50"),
        3,
    )
    assert rec.bill_lines == 6 and rec.bill_total == Decimal("28.00") and rec.statement_total == Decimal("18.00")
    summary = {row["kind"]: row for row in selectors.reconciliation_summary(rec)}
    assert summary["matched"]["lines"] == 2 and summary["matched"]["theirs"] == Decimal("9.00")
    assert summary["only_ours"]["ours"] == Decimal("4.50") and summary["duplicate"]["lines"] == 1


def test_adjustments_of_a_new_version_count_for_the_parcel(setup):
    finance, statement = setup["finance"], setup["statement"]
    services.statement_issue(statement_id=statement.pk, actor=finance)
    b = setup["orders"][1].tracking_number
    new = services.statement_revise(
        statement_id=statement.pk,
        actor=finance,
        adjustments=[{"tracking_number": b, "amount": "0.50", "reason": "agreed 5.00"}],
    )
    rec = services.reconciliation_run(
        statement_id=new.pk, actor=finance, uploaded=csv_file([(b, "2026-11-02", "5.00")])
    )
    assert (Difference.Kind.MATCHED, b) in kinds(rec)


def test_column_names_are_configured_per_carrier_and_xlsx_is_read(setup):
    BillFormat.objects.create(
        carrier=setup["contract"].outlet.carrier, tracking_column="运单号", date_column="拦截日期", fee_column="拦截费"
    )
    data = tablib.Dataset(headers=["运单号", "拦截日期", "拦截费", "备注"])
    data.append([setup["orders"][0].tracking_number, datetime(2026, 11, 1, 9, 0), 4.5, "=1+1"])
    rec = run(setup, SimpleUploadedFile("bill.xlsx", data.export("xlsx")))
    assert (Difference.Kind.MATCHED, setup["orders"][0].tracking_number) in kinds(rec)


def test_gb18030_csv_from_chinese_excel_is_read(setup):
    BillFormat.objects.create(
        carrier=setup["contract"].outlet.carrier, tracking_column="运单号", date_column="日期", fee_column="费用"
    )
    rec = run(
        setup,
        csv_file(
            [(setup["orders"][0].tracking_number, "2026-11-01", "4.50")],
            header=("运单号", "日期", "费用"),
            encoding="gb18030",
        ),
    )
    assert rec.bill_lines == 1


@pytest.mark.parametrize(
    "content,code",
    [
        (b"", "file_empty"),
        (b"\xff\xfe\x00\x81\x00garbage", "file_encoding"),
        (b"tracking_number,fee\nZTO1,4.50\n", "columns_missing"),
        (b"tracking_number,date,fee\n", "file_empty"),
    ],
)
def test_hostile_or_malformed_files_are_refused_whole(setup, content, code):
    with pytest.raises(DomainError) as refused:
        run(setup, SimpleUploadedFile("bill.csv", content))
    assert refused.value.code == code
    assert not Reconciliation.objects.exists()


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_kept(setup):
    good = setup["orders"][0].tracking_number
    with pytest.raises(DomainError) as refused, translation.override("en"):
        run(
            setup,
            csv_file(
                [
                    (good, "2026-11-01", "4.50"),
                    ('=HYPERLINK("http://evil")', "2026-11-01", "4.50"),
                    (good, "yesterday", "4.50"),
                    (good, "2026-11-01", "=1+1"),
                    (good, "2026-11-01", "4.505"),
                ]
            ),
        )
    errors = refused.value.errors
    assert [(e["code"], e["field"]) for e in errors] == [
        ("tracking_invalid", "tracking_number"),
        ("date_invalid", "date"),
        ("fee_invalid", "fee"),
        ("fee_invalid", "fee"),
    ]
    assert [e["message"].split(",")[0] for e in errors] == ["Row 3", "Row 4", "Row 5", "Row 6"]
    assert not Reconciliation.objects.exists()


def test_outlet_b_cannot_reconcile_outlet_a_statement(setup, two_outlets):
    staff_b = two_outlets["staff_b"]
    with pytest.raises(DomainError) as refused:
        services.reconciliation_run(
            statement_id=setup["statement"].pk,
            actor=staff_b,
            uploaded=csv_file([(setup["orders"][0].tracking_number, "2026-11-01", "4.50")]),
        )
    assert refused.value.code == "not_found"
    staff_a = factories.outlet_staff("zto_staff", setup["contract"].outlet)
    rec = services.reconciliation_run(
        statement_id=setup["statement"].pk,
        actor=staff_a,
        uploaded=csv_file([(setup["orders"][0].tracking_number, "2026-11-01", "4.5")]),
    )
    assert rec.uploaded_by == staff_a


def test_export_of_the_differences_escapes_formulas(setup, client):
    rec = run(setup, csv_file([(setup["orders"][0].tracking_number, "2026-11-01", "4.50")]))
    Difference.objects.filter(reconciliation=rec).update(detail="=cmd|' /C calc'!A0")
    client.force_login(setup["finance"])
    response = client.get(f"/admin/settlement/reconciliation/{rec.pk}/export/")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and "'=cmd" in body and ",=cmd" not in body
    assert io.StringIO(body).readline().startswith("class")


def test_bill_refusal_lists_the_first_200_errors_and_the_total(setup, client):
    rows = [(f"ZTO{n:010d}", "not a date", "4.50") for n in range(260)]
    with pytest.raises(DomainError) as refused, translation.override("en"):
        run(setup, csv_file(rows))
    errors = refused.value.errors
    assert len(errors) == 200 and refused.value.total == 260
    assert (errors[0]["row"], errors[-1]["row"]) == (2, 201) and errors[0]["field"] == "date"
    assert "260 errors in all; the first 200 are listed" in str(refused.value.message)
    client.force_login(setup["finance"])
    body = client.post(
        f"/admin/settlement/statement/{setup['statement'].pk}/reconcile/", {"bill": csv_file(rows)}
    ).content.decode()
    listed, after = body.split('class="portal-errors"')[1].split("</table>")[:2]
    assert listed.count("<tr><td>") == 200 and "60" in after[:200]  # "… and 60 more errors"
    assert not Reconciliation.objects.exists()


def test_a_bill_over_the_row_limit_is_refused(setup, settings):
    settings.UPLOAD_MAX_ROWS = 3
    a = setup["orders"][0].tracking_number
    with pytest.raises(DomainError) as refused:
        run(setup, csv_file([(a, "2026-11-01", "4.50")] * 4))
    assert refused.value.code == "file_too_many_rows"
    assert not Reconciliation.objects.exists()


def test_a_bill_at_the_row_limit_is_reconciled(setup, settings):
    settings.UPLOAD_MAX_ROWS = 4
    rec = run(setup, csv_file([(o.tracking_number, "2026-11-01", "4.50") for o in setup["orders"]]))
    assert rec.bill_lines == 4 and {d.kind for d in rec.differences.all()} == {Difference.Kind.MATCHED}
    assert {d.contract_fee for d in rec.differences.all()} == {Decimal("4.50")}


def test_r6_the_contract_fee_shown_is_the_one_in_force_when_the_interception_started(setup):
    from interception import services as interception_services

    contract = setup["contract"]
    amendment = interception_services.contract_amend_fee(contract_id=contract.pk, new_fee="6.00", actor=None)
    interception_services.amendment_approve(amendment_id=amendment.pk, actor=None)
    later = factories.intercepted(contract, at=datetime(2026, 11, 6, 12, tzinfo=SH))
    statement = services.statement_generate(
        actor=setup["finance"],
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement
    a = setup["orders"][0].tracking_number
    rec = services.reconciliation_run(
        statement_id=statement.pk,
        actor=setup["finance"],
        uploaded=csv_file([(a, "2026-11-01", "4.50"), (later.tracking_number, "2026-11-06", "6.00")]),
    )
    fees = {d.tracking_number: d.contract_fee for d in rec.differences.all()}
    assert fees[a] == Decimal("4.50") and fees[later.tracking_number] == Decimal("6.00")
