"""Master-data import and export through django-import-export: outlets, merchants, e-waybill accounts,
after-sales (docs/master-data.md), driven through the admin as each role."""

import io

import openpyxl
import pytest
import tablib
from django.contrib.auth.models import User

from interception.models import AfterSale, EwaybillAccount, Merchant, Outlet, Platform
from kernel import timeline
from kernel.models import StagedUpload
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

ADMIN = "/admin/interception/{model}/"
RESOURCES = {
    "outlet": "outletresource",
    "merchant": "merchantresource",
    "ewaybillaccount": "ewaybillaccountresource",
    "aftersale": "aftersaleresource",
}
HEADERS = {
    "outlet": ["快递公司编码", "网点编码", "网点名称", "地区"],
    "merchant": ["商家编码", "店铺名称", "平台编码", "跨境", "经营状态", "自动拦截"],
    "ewaybillaccount": ["商家编码", "快递公司编码", "网点编码", "平台编码", "有效", "开通时间"],
    "aftersale": [
        "平台编码",
        "售后单号",
        "快递公司编码",
        "运单号",
        "商家编码",
        "类型",
        "退款金额（元）",
        "买家原因",
        "状态",
        "接收时间",
    ],
}


@pytest.fixture
def supervisor(client):
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    return client


def export(client, model, file_format="csv"):
    from kernel.imports import IMPORT_FORMATS  # noqa: F401 - the export formats are the settings' CSV, XLSX

    resource = RESOURCES[model]
    fields = {f"{resource}_{name}": "on" for name in _field_names(model)}
    response = client.post(
        ADMIN.format(model=model) + "export/",
        {"format": "0" if file_format == "csv" else "1", "resource": "0", **fields},
    )
    assert response.status_code == 200, response.content[:500]
    if file_format == "xlsx":
        return response.content
    assert response.content.startswith("\ufeff".encode()), "Excel needs the BOM to read Chinese"
    return tablib.Dataset().load(response.content.decode("utf-8-sig"), format="csv")


def _field_names(model):
    from interception import master_data

    cls = {
        "outlet": master_data.OutletResource,
        "merchant": master_data.MerchantResource,
        "ewaybillaccount": master_data.EwaybillAccountResource,
        "aftersale": master_data.AfterSaleResource,
    }[model]
    return list(cls.fields)


def csv_file(headers, rows, name="list.csv"):
    content = tablib.Dataset(*rows, headers=headers).export("csv").encode("utf-8")
    f = io.BytesIO(content)
    f.name = name
    return f


def preview(client, model, upload, file_format="0"):
    return client.post(
        ADMIN.format(model=model) + "import/", {"resource": "0", "format": file_format, "import_file": upload}
    )


def confirm(client, model, response):
    form = response.context["confirm_form"]
    return client.post(ADMIN.format(model=model) + "process_import/", form.initial, follow=True)


def problems(response):
    return [(row, column, str(message)) for row, column, message in response.context["problems"]]


# --- the four lists: export, then import what was exported (a round trip) -------------------------------------------


def test_outlets_export_in_chinese_and_import_a_new_network_from_a_spreadsheet(supervisor):
    factories.OutletFactory(code="HZ-001", name="杭州网点", region="杭州")
    data = export(supervisor, "outlet")
    assert data.headers == HEADERS["outlet"]
    assert ["jt", "HZ-001", "杭州网点", "杭州"] in [list(r) for r in data]

    rows = [
        ["jt", "HZ-001", "杭州西湖网点", "杭州"],
        ["jt", "NB-001", "宁波网点", "宁波"],
        ["yto", "NB-001", "圆通宁波", ""],
    ]
    response = preview(supervisor, "outlet", csv_file(HEADERS["outlet"], rows))
    assert response.status_code == 200
    assert "confirm_form" in response.context, problems(response)
    assert Outlet.objects.filter(code="NB-001").count() == 0, "the preview writes nothing"

    done = confirm(supervisor, "outlet", response)
    assert done.status_code == 200
    assert Outlet.objects.get(carrier__code="jt", code="HZ-001").name == "杭州西湖网点"
    assert set(Outlet.objects.filter(code="NB-001").values_list("carrier__code", flat=True)) == {"jt", "yto"}
    (message,) = [str(m) for m in done.context["messages"]]
    assert "新增 2 条" in message and "更新 1 条" in message


def test_merchants_round_trip_unchanged_and_accept_yes_no_in_either_language(supervisor):
    factories.MerchantFactory(code="M-1", name="小店", auto_intercept=True)
    data = export(supervisor, "merchant")
    assert data.headers == HEADERS["merchant"]
    assert ["M-1", "小店", "kuaishou", "否", "正常经营", "是"] in [list(r) for r in data]

    again = preview(supervisor, "merchant", csv_file(data.headers, list(data)))
    assert again.context["result"].totals["skip"] == len(data), "what was exported imports unchanged"

    rows = [["M-2", "新店", "douyin", "no", "restricted", "yes"]]
    done = confirm(supervisor, "merchant", preview(supervisor, "merchant", csv_file(HEADERS["merchant"], rows)))
    assert done.status_code == 200
    m = Merchant.objects.get(code="M-2")
    assert (m.platform.code, m.cross_border, m.operating_status, m.auto_intercept) == (
        "douyin",
        False,
        "restricted",
        True,
    )


def test_ewaybill_accounts_keyed_on_merchant_carrier_outlet_platform_round_trip(supervisor):
    outlet = factories.OutletFactory(code="HZ-9")
    merchant = factories.MerchantFactory(code="M-9")
    factories.OutletFactory(code="HZ-9", carrier=factories.carrier("yto"))  # same outlet code, other carrier
    data = export(supervisor, "ewaybillaccount")
    assert data.headers == HEADERS["ewaybillaccount"]

    rows = [["M-9", "yto", "HZ-9", "kuaishou", "是"], ["M-9", "jt", "HZ-9", "kuaishou", "否"]]
    upload = csv_file(HEADERS["ewaybillaccount"][:5], rows)
    done = confirm(supervisor, "ewaybillaccount", preview(supervisor, "ewaybillaccount", upload))
    assert done.status_code == 200
    accounts = {(a.outlet.carrier.code, a.active) for a in EwaybillAccount.objects.filter(merchant=merchant)}
    assert accounts == {("yto", True), ("jt", False)}

    data = export(supervisor, "ewaybillaccount")
    assert ["M-9", "jt", outlet.code, "kuaishou", "否"] in [list(r)[:5] for r in data]
    again = preview(supervisor, "ewaybillaccount", csv_file(data.headers, list(data)))
    assert again.context["result"].totals["skip"] == len(data)


def test_aftersales_are_created_through_the_service_and_an_existing_one_is_never_changed_r12(supervisor):
    contract = factories.active_contract()
    parcel = factories.parcel_for(contract)
    existing = factories.after_sale_for(parcel, number="AS-OLD")
    data = export(supervisor, "aftersale")
    assert data.headers == HEADERS["aftersale"]
    assert data[0][:9] == ("kuaishou", "AS-OLD", "jt", parcel.tracking_number, contract.merchant.code) + (
        "仅退款",
        "99.00",
        "不想要了",
        "待处理",
    )
    # What was exported imports unchanged.
    assert preview(supervisor, "aftersale", csv_file(data.headers, list(data))).context["result"].totals["skip"] == 1

    headers = HEADERS["aftersale"][:4] + HEADERS["aftersale"][5:8]
    rows = [["kuaishou", "AS-NEW", "jt", parcel.tracking_number, "仅退款", "12.50", "拍错了"]]
    done = confirm(supervisor, "aftersale", preview(supervisor, "aftersale", csv_file(headers, rows)))
    assert done.status_code == 200
    new = AfterSale.objects.get(number="AS-NEW")
    assert (new.merchant, new.kind, str(new.amount), new.state) == (contract.merchant, "refund_only", "12.50", "open")
    (entry,) = [e for e in timeline.entries_for(new) if e.transition == "create_aftersale"]
    assert entry.actor_id == User.objects.get(username="boss").pk

    changed = [["kuaishou", "AS-OLD", "jt", parcel.tracking_number, "refund_only", "1.00", "不想要了"]]
    refused = preview(supervisor, "aftersale", csv_file(headers, changed))
    assert "confirm_form" not in refused.context
    assert [(r, c) for r, c, _m in problems(refused)] == [(2, "售后单号")]
    existing.refresh_from_db()
    assert str(existing.amount) == "99.00"


def test_choice_values_export_as_chinese_labels_and_read_back_from_label_or_code(supervisor):
    """People read the type, state and operating status columns: Chinese labels, not `refund_only` or `open`;
    the codes a machine keys rows on (platform, carrier, outlet, merchant) stay codes."""
    factories.MerchantFactory(code="M-L", operating_status="restricted")
    after_sale = factories.after_sale_for(factories.parcel_for(factories.active_contract()), kind="return_refund")
    merchants = {row[0]: row for row in export(supervisor, "merchant")}
    assert merchants["M-L"][4] == "受限"
    (row,) = export(supervisor, "aftersale")
    assert (row[0], row[2], row[5], row[8]) == ("kuaishou", "jt", "退货退款", "待处理")

    rows = [["M-L", "店", "kuaishou", "否", "closed", "否"], ["M-E", "店", "kuaishou", "否", "restricted", "否"]]
    rows += [
        ["M-Z", "店", "kuaishou", "否", "正常经营", "否"],
        ["M-N", "店", "kuaishou", "否", "operating normally", "否"],
    ]
    done = confirm(supervisor, "merchant", preview(supervisor, "merchant", csv_file(HEADERS["merchant"], rows)))
    assert done.status_code == 200
    statuses = dict(
        Merchant.objects.filter(code__in=["M-L", "M-E", "M-Z", "M-N"]).values_list("code", "operating_status")
    )
    assert statuses == {"M-L": "closed", "M-E": "restricted", "M-Z": "operating", "M-N": "operating"}
    assert after_sale.number == row[1]


def test_master_data_files_are_read_with_english_or_field_name_headers(supervisor):
    rows = [["M-H", "店", "kuaishou", "否", "受限", "是"]]
    english = ["merchant code", "shop name", "platform code", "cross-border", "operating status", "auto-intercept"]
    names = ["code", "name", "platform", "cross_border", "operating_status", "auto_intercept"]
    for headers, code in ((english, "M-H"), (names, "M-F")):
        rows[0][0] = code
        assert (
            confirm(supervisor, "merchant", preview(supervisor, "merchant", csv_file(headers, rows))).status_code == 200
        )
    assert set(Merchant.objects.filter(code__in=["M-H", "M-F"]).values_list("operating_status", "auto_intercept")) == {
        ("restricted", True)
    }


# --- a bad row refuses the whole file, naming row and column ---------------------------------------------------------


def test_a_bad_row_refuses_the_whole_file_naming_row_and_column(supervisor):
    rows = [
        ["jt", "OK-1", "好网点", ""],
        ["jt", "TOO-LONG", "网" * 101, ""],  # row 3: longer than its column, never shortened
        ["nope", "X-1", "某网点", ""],  # row 4: a carrier that does not exist, never created
    ]
    response = preview(supervisor, "outlet", csv_file(HEADERS["outlet"], rows))
    assert "confirm_form" not in response.context
    listed = problems(response)
    assert [(r, c) for r, c, _m in listed] == [(3, "网点名称"), (4, "快递公司编码")]
    assert "100" in listed[0][2] and "nope" in listed[1][2]
    assert not Outlet.objects.filter(code__in=["OK-1", "TOO-LONG", "X-1"]).exists()


def test_a_row_that_turned_bad_after_the_preview_refuses_the_whole_file_at_confirmation(supervisor):
    merchant = factories.MerchantFactory(code="M-1")
    rows = [["M-1", "改名", "kuaishou", "否", "operating", "否"], ["M-3", "新店", "kuaishou", "否", "operating", "否"]]
    response = preview(supervisor, "merchant", csv_file(HEADERS["merchant"], rows))
    assert "confirm_form" in response.context
    Platform.objects.filter(code="kuaishou").update(code="ks-renamed")  # the platform code now names nothing

    done = confirm(supervisor, "merchant", response)
    assert done.status_code == 400
    assert [(r, c) for r, c, _m in problems(done)] == [(2, "平台编码"), (3, "平台编码")]
    assert not Merchant.objects.filter(code="M-3").exists()
    assert Merchant.objects.get(code="M-1").name == merchant.name


def test_a_file_without_its_key_columns_is_refused_at_once(supervisor):
    response = preview(supervisor, "outlet", csv_file(["网点名称"], [["某网点"]]))
    assert "confirm_form" not in response.context
    ((row, column, message),) = problems(response)
    assert "快递公司编码" in message and "网点编码" in message


def test_an_unknown_yes_no_or_choice_is_refused_not_read_as_no(supervisor):
    rows = [["M-5", "店", "kuaishou", "maybe", "bankrupt", "否"]]
    response = preview(supervisor, "merchant", csv_file(HEADERS["merchant"], rows))
    assert [(r, c) for r, c, _m in problems(response)] == [(2, "跨境"), (2, "经营状态")]


def test_the_upload_limits_of_every_file_apply_rows_and_size(supervisor, settings):
    settings.UPLOAD_MAX_ROWS = 2
    rows = [["jt", f"R-{n}", "网点", ""] for n in range(3)]
    response = preview(supervisor, "outlet", csv_file(HEADERS["outlet"], rows))
    assert "UPLOAD_MAX_ROWS" in str(response.context["form"].errors["import_file"])
    big = io.BytesIO(b"a" * (10 * 1024 * 1024 + 1))
    big.name = "big.csv"
    response = preview(supervisor, "outlet", big)
    assert "10 MB" in str(response.context["form"].errors["import_file"])
    assert not Outlet.objects.filter(code__startswith="R-").exists()


def test_a_gb18030_csv_as_chinese_excel_saves_it_imports(supervisor):
    content = tablib.Dataset(["jt", "GB-1", "宁波网点", "宁波"], headers=HEADERS["outlet"]).export("csv")
    upload = io.BytesIO(content.encode("gb18030"))
    upload.name = "网点.csv"
    confirm(supervisor, "outlet", preview(supervisor, "outlet", upload))
    assert Outlet.objects.get(code="GB-1").name == "宁波网点"


def test_an_english_export_imports_for_a_chinese_reader(supervisor):
    rows = [["jt", "EN-1", "Ningbo outlet", "Ningbo"]]
    upload = csv_file(["carrier code", "outlet code", "outlet name", "region"], rows)
    confirm(supervisor, "outlet", preview(supervisor, "outlet", upload))
    assert Outlet.objects.get(code="EN-1").region == "Ningbo"


# --- dry run, the confirmation token ---------------------------------------------------------------------------------


def test_the_preview_writes_nothing_and_the_confirmation_applies_once(supervisor):
    rows = [["jt", "DRY-1", "网点", ""]]
    response = preview(supervisor, "outlet", csv_file(HEADERS["outlet"], rows))
    assert response.context["result"].totals["new"] == 1
    assert not Outlet.objects.filter(code="DRY-1").exists()
    assert StagedUpload.objects.count() == 1
    confirm(supervisor, "outlet", response)
    assert Outlet.objects.filter(code="DRY-1").count() == 1
    again = confirm(supervisor, "outlet", response)
    assert again.status_code == 400, "a confirmation sent twice applies once"
    assert StagedUpload.objects.count() == 0


def test_another_users_preview_cannot_be_confirmed(supervisor, client):
    response = preview(supervisor, "outlet", csv_file(HEADERS["outlet"], [["jt", "TOK-1", "网点", ""]]))
    other = factories.user("boss2", roles.SUPERVISOR)
    client.force_login(other)
    assert confirm(client, "outlet", response).status_code == 400
    assert not Outlet.objects.filter(code="TOK-1").exists()


# --- permissions: outlet staff cannot import master data; their exports are their outlets' ---------------------------


@pytest.mark.parametrize("model", ["outlet", "merchant", "ewaybillaccount"])
def test_outlet_staff_cannot_import_master_data(client, two_outlets, model):
    client.force_login(two_outlets["staff_a"])
    assert client.get(ADMIN.format(model=model) + "import/").status_code == 403
    upload = csv_file(HEADERS["outlet"], [["jt", "HACK", "网点", ""]])
    assert preview(client, model, upload).status_code == 403
    assert client.post(ADMIN.format(model=model) + "process_import/", {}).status_code == 403
    page = client.get(ADMIN.format(model=model))
    assert page.status_code == 200
    assert (ADMIN.format(model=model) + "import/").encode() not in page.content
    assert not Outlet.objects.filter(code="HACK").exists()


def test_customer_service_may_export_but_not_import_after_sales(client):
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    assert client.get(ADMIN.format(model="aftersale") + "import/").status_code == 403
    export(client, "aftersale")


def test_outlet_staff_export_only_their_outlets_rows(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    outlets = export(client, "outlet")
    assert [r[1] for r in outlets] == ["A-001"]
    accounts = export(client, "ewaybillaccount")
    assert {r[2] for r in accounts} == {"A-001"}
    merchants = export(client, "merchant")
    assert [r[0] for r in merchants] == [two_outlets["account_a"].merchant.code]


def test_outlet_staff_cannot_export_after_sales(client, two_outlets):
    client.force_login(two_outlets["staff_a"])
    assert client.get(ADMIN.format(model="aftersale") + "export/").status_code == 403


# --- formula escaping, and no field beyond the whitelist -------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_text_a_spreadsheet_would_run_as_a_formula_exports_escaped_and_imports_back(supervisor, file_format):
    factories.OutletFactory(code="F-1", name='=HYPERLINK("http://evil.example","点我")', region="@SUM(A1)")
    content = export(supervisor, "outlet", file_format)
    if file_format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        cells = [c.value for row in sheet.iter_rows() for c in row]
        assert cells.count('\'=HYPERLINK("http://evil.example","点我")') == 1
        assert all(not (isinstance(c, str) and c.startswith("=")) for c in cells)
        upload = io.BytesIO(content)
        upload.name = "outlets.xlsx"
        file_format_index = "1"
    else:
        row = next(r for r in content if r[1] == "F-1")
        assert row[2:] == ('\'=HYPERLINK("http://evil.example","点我")', "'@SUM(A1)")
        upload = csv_file(content.headers, list(content))
        file_format_index = "0"
    again = preview(supervisor, "outlet", upload, file_format_index)
    assert again.context["result"].totals["skip"] == Outlet.objects.count(), "read back as it was stored"


def test_exports_name_only_the_whitelisted_columns(supervisor):
    """A field added to a model (a carrier's sealed credentials) is exported only once a resource names it."""
    factories.EwaybillFactory()
    for model, headers in HEADERS.items():
        assert export(supervisor, model).headers == headers


@pytest.mark.parametrize("model", ["ewaybillaccount", "aftersale"])
def test_xlsx_exports_show_times_in_shanghai_time(supervisor, model):
    contract = factories.active_contract()
    factories.after_sale_for(factories.parcel_for(contract))
    sheet = openpyxl.load_workbook(io.BytesIO(export(supervisor, model, "xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS[model]
    when = rows[1][-1]
    assert when, rows[1]
    from django.utils import timezone

    stored = (EwaybillAccount if model == "ewaybillaccount" else AfterSale).objects.order_by("-pk").first()
    field = "opened_at" if model == "ewaybillaccount" else "created_at"
    assert str(when)[:16] == timezone.localtime(getattr(stored, field)).strftime("%Y-%m-%d %H:%M")
