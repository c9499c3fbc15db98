"""The outlet staff's decision file: export, fill, preview, import (through the same services)."""

import io

import openpyxl
import pytest
import tablib
from django.utils import translation

from interception import services
from interception.models import Contract
from tests import factories

pytestmark = pytest.mark.django_db

EXPORT = "/admin/interception/contract/decisions/export/"
IMPORT = "/admin/interception/contract/decisions/import/"


@pytest.fixture
def outlet_a(db):
    a = factories.OutletFactory(code="A-1")
    contracts = []
    for _ in range(3):
        merchant, _outlet = factories.contract_setup(outlet=a)
        contracts.append(factories.apply(merchant, a))
    return {"outlet": a, "contracts": contracts, "staff": factories.outlet_staff("staff_a", a)}


def exported(client, file_format="csv"):
    response = client.get(EXPORT, {"format": file_format})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if file_format == "xlsx":
        data = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
    else:
        data = tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")
    # The file says its columns in Chinese; these tests name them by code (a file with either is read).
    data.headers = [resources_column_for(h) for h in data.headers]
    return data


def resources_column_for(header):
    from interception import resources

    return resources.column_for(header)


def to_bytes(dataset, file_format="csv"):
    if file_format == "xlsx":
        return dataset.export("xlsx")
    return dataset.export("csv").encode("utf-8")


def decide(dataset, decisions):
    """decisions: {row index: (decision, reason)}"""
    rows = [list(r) for r in dataset]
    d, r = dataset.headers.index("decision"), dataset.headers.index("reason")
    for index, (decision, reason) in decisions.items():
        rows[index][d], rows[index][r] = decision, reason
    return tablib.Dataset(*rows, headers=dataset.headers)


def upload(client, content, name="decisions.csv", confirm=True):
    """Preview the file, then press "Confirm and apply" (the preview's token; none when it has no button)."""
    preview = client.post(IMPORT, {"file": _file(content, name)})
    if not confirm:
        return preview
    token = (preview.context or {}).get("token") or ""
    return preview, client.post(IMPORT, {"confirm": "1", "token": token}, follow=True)


def _file(content, name):
    f = io.BytesIO(content)
    f.name = name
    return f


def states(contracts):
    return [Contract.objects.get(pk=c.pk).state for c in contracts]


def test_export_lists_pending_applications_with_empty_decision_columns(client, outlet_a):
    client.force_login(outlet_a["staff"])
    response = client.get(EXPORT, {"format": "csv"})
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("类型,编号,商家编码,商家名称,快递公司") and header.endswith(",审核决定,原因")
    data = exported(client)
    assert data.headers == [
        "kind",
        "id",
        "merchant",
        "merchant_name",
        "carrier",
        "outlet",
        "platform",
        "mode",
        "fee",
        "return_shipping",
        "applied_at",
        "decision",
        "reason",
    ]
    assert sorted(int(i) for i in data["id"]) == sorted(c.pk for c in outlet_a["contracts"])
    assert set(data["decision"]) == {""}


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_good_file_previews_then_applies_through_the_services(client, outlet_a, file_format):
    client.force_login(outlet_a["staff"])
    data = decide(exported(client, file_format), {0: ("approve", ""), 1: ("reject", "no capacity")})
    name = f"decisions.{file_format}"
    preview, done = upload(client, to_bytes(data, file_format), name=name)
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "Confirm" in body or "确认" in body
    c = outlet_a["contracts"]
    ids = [int(float(i)) for i in data["id"]]
    by_id = {x.pk: x for x in c}
    assert states([by_id[ids[0]], by_id[ids[1]], by_id[ids[2]]]) == ["active", "rejected", "pending"]
    assert Contract.objects.get(pk=ids[1]).reject_reason == "no capacity"


def test_preview_alone_applies_nothing(client, outlet_a):
    client.force_login(outlet_a["staff"])
    data = decide(exported(client), {0: ("approve", "")})
    upload(client, to_bytes(data), confirm=False)
    assert set(states(outlet_a["contracts"])) == {"pending"}


def test_one_bad_row_among_good_ones_refuses_the_whole_file_with_every_error(client, outlet_a):
    client.force_login(outlet_a["staff"])
    other = factories.OutletFactory(code="B-1")
    merchant_b, _ = factories.contract_setup(outlet=other)
    foreign = factories.apply(merchant_b, other)
    data = decide(exported(client), {0: ("approve", ""), 1: ("reject", ""), 2: ("maybe", "")})
    rows = [list(r) for r in data]
    rows.append(
        ["application", str(foreign.pk), merchant_b.code, "", "", "", "", "", f"{foreign.fee}", "", "approve", ""]
    )
    rows.append(["application", "999999", "M0", "", "", "", "", "", "1.00", "", "", "approve", ""])
    rows[0][data.headers.index("fee")] = "0.01"
    bad = tablib.Dataset(*rows, headers=data.headers)
    preview, done = upload(client, to_bytes(bad))
    body = preview.content.decode()
    for row, column in [(2, "fee"), (3, "reason"), (4, "decision"), (5, "id"), (6, "id")]:
        assert f"<td>{row}</td><td>{column}</td>" in body, (row, column)
    assert set(states(outlet_a["contracts"])) == {"pending"}
    assert Contract.objects.get(pk=foreign.pk).state == "pending"
    assert "nothing was applied" in done.content.decode() or "未应用" in done.content.decode()


def test_changed_merchant_is_refused(client, outlet_a):
    client.force_login(outlet_a["staff"])
    data = decide(exported(client), {0: ("approve", "")})
    rows = [list(r) for r in data]
    rows[0][data.headers.index("merchant")] = "SOMEONE-ELSE"
    body = upload(client, to_bytes(tablib.Dataset(*rows, headers=data.headers)), confirm=False).content.decode()
    assert "<td>2</td><td>merchant</td>" in body


def test_same_file_twice_changes_nothing_the_second_time_and_says_so(client, outlet_a):
    client.force_login(outlet_a["staff"])
    content = to_bytes(decide(exported(client), {0: ("approve", ""), 1: ("reject", "full")}))
    upload(client, content)
    first = states(outlet_a["contracts"])
    decided_at = list(
        Contract.objects.filter(pk__in=[c.pk for c in outlet_a["contracts"]]).values_list("decided_at", flat=True)
    )
    preview, done = upload(client, content)
    assert states(outlet_a["contracts"]) == first
    assert (
        list(Contract.objects.filter(pk__in=[c.pk for c in outlet_a["contracts"]]).values_list("decided_at", flat=True))
        == decided_at
    )
    text = preview.content.decode()
    assert "changes nothing" in text or "没有任何变更" in text


def test_a_row_decided_otherwise_since_export_is_an_error(client, outlet_a):
    client.force_login(outlet_a["staff"])
    data = exported(client)
    first_id = int(data["id"][0])
    services.contract_approve(contract_id=first_id, actor=outlet_a["staff"])
    body = upload(client, to_bytes(decide(data, {0: ("reject", "late")})), confirm=False).content.decode()
    assert "<td>2</td><td>decision</td>" in body


def test_decision_file_cannot_decide_another_outlets_application_even_if_crafted(client, outlet_a):
    other = factories.OutletFactory(code="B-1")
    merchant_b, _ = factories.contract_setup(outlet=other)
    foreign = factories.apply(merchant_b, other)
    client.force_login(outlet_a["staff"])
    crafted = tablib.Dataset(
        ["application", foreign.pk, merchant_b.code, "", "", "", "", "", f"{foreign.fee}", "", "approve", ""],
        headers=[
            "kind",
            "id",
            "merchant",
            "merchant_name",
            "carrier",
            "outlet",
            "platform",
            "mode",
            "fee",
            "applied_at",
            "decision",
            "reason",
        ],
    )
    upload(client, to_bytes(crafted))
    assert Contract.objects.get(pk=foreign.pk).state == "pending"
    exported_ids = {int(i) for i in exported(client)["id"]}
    assert foreign.pk not in exported_ids


def test_formula_in_a_text_cell_is_kept_as_text_and_escaped_on_export(client, outlet_a):
    client.force_login(outlet_a["staff"])
    merchant = outlet_a["contracts"][0].merchant
    merchant.name = '=HYPERLINK("http://evil","x")'
    merchant.save()
    data = exported(client, "xlsx")
    names = list(data["merchant_name"])
    assert '\'=HYPERLINK("http://evil","x")' in names
    raw = client.get(EXPORT, {"format": "xlsx"}).content
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for row in sheet.iter_rows() for c in row)
    reason = "=cmd|'/c calc'!A1"
    index = names.index('\'=HYPERLINK("http://evil","x")')
    # A CSV keeps what the user typed as text; we store it as text, never evaluate it.
    upload(client, to_bytes(decide(data, {index: ("reject", reason)}), "csv"), name="d.csv")
    rejected = Contract.objects.get(pk=outlet_a["contracts"][0].pk)
    assert (rejected.state, rejected.reject_reason) == ("rejected", reason)


@pytest.mark.parametrize(
    "content, name, words",
    [
        (b"", "empty.csv", ["empty", "为空", "空文件"]),
        (b"\xff\xfe\x00\x00garbage\x00", "bin.csv", ["UTF-8", "CSV"]),
        (b"kind,id\napplication,1\n", "short.csv", ["Columns missing", "缺少列"]),
        (b"PK\x03\x04broken", "broken.xlsx", ["XLSX"]),
    ],
)
def test_hostile_files_are_refused_with_a_clear_message(client, outlet_a, content, name, words):
    client.force_login(outlet_a["staff"])
    body = upload(client, content, name=name, confirm=False).content.decode()
    assert any(w in body for w in words), body[-2000:]
    assert set(states(outlet_a["contracts"])) == {"pending"}


def test_customer_service_cannot_export_or_import_decisions(client, outlet_a):
    from portal import roles

    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    assert client.get(EXPORT).status_code == 403
    assert client.get(IMPORT).status_code == 403


def test_gbk_csv_from_chinese_excel_is_read(client, outlet_a):
    client.force_login(outlet_a["staff"])
    data = decide(exported(client), {0: ("通过", "")})
    upload(client, data.export("csv").encode("gb18030"))
    assert sorted(states(outlet_a["contracts"])) == ["active", "pending", "pending"]


def test_fee_change_rows_share_the_file(client):
    contract = factories.active_contract(fee="5.00")
    amendment = services.contract_amend_fee(contract_id=contract.pk, new_fee="7.00", actor=None)
    staff = factories.outlet_staff("s", contract.outlet)
    client.force_login(staff)
    data = exported(client)
    assert list(data["kind"]) == ["fee_change"] and int(data["id"][0]) == amendment.pk
    upload(client, to_bytes(decide(data, {0: ("approve", "")})))
    contract.refresh_from_db()
    assert str(contract.fee) == "7.00"


def pending_in_bulk(outlet, count):
    """`count` more pending applications at `outlet`, inserted in bulk (one merchant each)."""
    from decimal import Decimal

    from interception.models import Merchant, Platform

    platform = Platform.objects.get(code="kuaishou")
    merchants = Merchant.objects.bulk_create(
        [Merchant(code=f"BULK{n:06d}", name=f"批量店铺{n}", platform=platform) for n in range(count)]
    )
    Contract.objects.bulk_create(
        [
            Contract(merchant=m, outlet=outlet, platform=platform, settlement_mode="offline", fee=Decimal("3.00"))
            for m in merchants
        ]
    )


def test_refusal_lists_the_first_200_errors_and_the_total(client, outlet_a):
    client.force_login(outlet_a["staff"])
    rows = [
        ["application", str(900000 + n), "M0", "", "", "", "", "", "1.00", "", "", "approve", ""] for n in range(345)
    ]
    bad = tablib.Dataset(*rows, headers=resources_columns())
    body = upload(client, to_bytes(bad), confirm=False).content.decode()
    listed, after = body.split('class="portal-errors"')[1].split("</table>")[:2]
    assert listed.count("<tr><td>") == 200
    assert "<td>201</td><td>id</td>" in listed and "<td>202</td>" not in listed  # rows 2-201: the first 200
    assert "145" in after[:200]  # "… and 145 more errors"


def test_refused_apply_carries_at_most_200_errors_and_the_total_in_its_detail(outlet_a):
    from interception import resources
    from kernel.spreadsheets import read_table

    rows = [
        ["application", str(900000 + n), "M0", "", "", "", "", "", "1.00", "", "", "approve", ""] for n in range(345)
    ]
    content = to_bytes(tablib.Dataset(*rows, headers=resources_columns()))
    with pytest.raises(resources.ImportRefused) as refused, translation.override("en"):
        resources.apply(outlet_a["staff"], read_table(_file(content, "d.csv"), required_columns=resources.REQUIRED))
    assert len(refused.value.errors) == 200 and refused.value.total == 345
    assert "345 errors in all; the first 200 are listed" in str(refused.value.message)


def resources_columns():
    from interception import resources

    return resources.COLUMNS


def test_decision_file_confirm_with_damaged_content_is_refused_not_500(client, outlet_a):
    client.force_login(outlet_a["staff"])
    # What the old confirm form posted back, damaged: the file as base64 in a hidden field.
    response = client.post(IMPORT, {"confirm": "1", "name": "d.csv", "content": "%%%not base64%%%"})
    assert response.status_code == 200
    assert response.context["refused"].code == "upload_unknown"
    assert set(states(outlet_a["contracts"])) == {"pending"}


def test_decision_file_larger_than_2_5_mb_can_be_confirmed(client, outlet_a, settings):
    pending_in_bulk(outlet_a["outlet"], 30_000)
    client.force_login(outlet_a["staff"])
    data = exported(client)
    ids = [int(i) for i in data["id"]]
    mine = {c.pk for c in outlet_a["contracts"]}
    content = to_bytes(decide(data, {ids.index(pk): ("approve", "") for pk in mine}))
    assert len(content) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # more than a form field may carry
    preview, done = upload(client, content)
    assert preview.context["plan"].rows == len(ids) and preview.context["changes"] == 3
    assert done.redirect_chain and done.redirect_chain[-1][0].endswith("/admin/interception/contract/")
    assert states(outlet_a["contracts"]) == ["active"] * 3
    assert Contract.objects.filter(outlet=outlet_a["outlet"], state="pending").count() == 30_000


def test_the_preview_shows_the_first_200_rows_and_counts_every_row(client, outlet_a):
    pending_in_bulk(outlet_a["outlet"], 300)
    client.force_login(outlet_a["staff"])
    data = exported(client)
    preview = upload(client, to_bytes(decide(data, {302: ("approve", "")})), confirm=False)
    body = preview.content.decode()
    shown = body.split('class="portal-preview"')[1].split("</table>")[0]
    assert shown.count("<tr><td>") == 200
    plan = preview.context["plan"]
    assert (plan.rows, plan.more_rows, plan.count("approve"), plan.count("leave")) == (303, 103, 1, 302)


def test_a_file_over_the_row_limit_is_refused(client, outlet_a, settings):
    settings.UPLOAD_MAX_ROWS = 2
    client.force_login(outlet_a["staff"])
    data = decide(exported(client), {0: ("approve", ""), 1: ("approve", ""), 2: ("approve", "")})
    preview = upload(client, to_bytes(data), confirm=False)
    refused = preview.context["refused"]
    assert refused.code == "file_too_many_rows"
    assert "文件超过 2 行的上限（UPLOAD_MAX_ROWS）" in preview.content.decode()
    assert set(states(outlet_a["contracts"])) == {"pending"}


def test_another_users_preview_is_refused_and_applies_nothing(client, outlet_a):
    client.force_login(outlet_a["staff"])
    preview = upload(client, to_bytes(decide(exported(client), {0: ("approve", "")})), confirm=False)
    token = preview.context["token"]
    colleague = factories.outlet_staff("staff_a2", outlet_a["outlet"])
    client.force_login(colleague)
    response = client.post(IMPORT, {"confirm": "1", "token": token})
    assert response.context["refused"].code == "upload_unknown"
    assert set(states(outlet_a["contracts"])) == {"pending"}
    client.force_login(outlet_a["staff"])  # still there for its owner
    assert client.post(IMPORT, {"confirm": "1", "token": token}).status_code == 302
    assert sorted(states(outlet_a["contracts"])) == ["active", "pending", "pending"]


def test_an_expired_preview_is_refused_and_applies_nothing(client, outlet_a):
    from datetime import timedelta

    from django.utils import timezone

    from kernel.models import StagedUpload

    client.force_login(outlet_a["staff"])
    preview = upload(client, to_bytes(decide(exported(client), {0: ("approve", "")})), confirm=False)
    StagedUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(IMPORT, {"confirm": "1", "token": preview.context["token"]})
    assert response.context["refused"].code == "upload_expired"
    assert set(states(outlet_a["contracts"])) == {"pending"}
    upload(client, to_bytes(decide(exported(client), {1: ("approve", "")})), confirm=False)
    assert StagedUpload.objects.filter(expires_at__lte=timezone.now()).count() == 0  # the next upload cleared it


def test_a_confirmation_sent_twice_applies_once_and_the_file_is_deleted(client, outlet_a):
    from kernel.models import StagedUpload, StagedUploadPart

    client.force_login(outlet_a["staff"])
    preview = upload(client, to_bytes(decide(exported(client), {0: ("approve", "")})), confirm=False)
    token = preview.context["token"]
    assert client.post(IMPORT, {"confirm": "1", "token": token}).status_code == 302
    again = client.post(IMPORT, {"confirm": "1", "token": token})
    assert again.context["refused"].code == "upload_unknown"
    assert not StagedUpload.objects.exists() and not StagedUploadPart.objects.exists()


def test_a_refused_confirmation_keeps_the_file_for_its_owner(client, outlet_a):
    from kernel.models import StagedUpload

    client.force_login(outlet_a["staff"])
    data = exported(client)
    preview = upload(client, to_bytes(decide(data, {0: ("reject", "full")})), confirm=False)
    services.contract_approve(contract_id=int(data["id"][0]), actor=outlet_a["staff"])  # decided meanwhile
    refused = client.post(IMPORT, {"confirm": "1", "token": preview.context["token"]})
    assert refused.context["refused"].code == "import_invalid"
    assert StagedUpload.objects.count() == 1  # nothing of the failed transaction stays, the deletion neither
