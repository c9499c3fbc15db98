"""Issue 19: the English words the browser walk (tests/e2e/test_chinese_screens.py) found in the Chinese UI,
each checked here without a browser too: Django's untranslated "ID" column and hidden headers, the user list's
role filter, the carriers' adapters, the carrier's reason codes, the call log's "HTTP", the export page's
column names, the outlet bill's and the decision file's columns, date formats in letters."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from interception import services
from interception.models import Carrier
from kernel import timeline
from portal import roles
from settlement import services as settlement_services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_id_column_is_headed_number_in_chinese(boss):
    factories.started()
    for url in ("/admin/interception/interceptionorder/", "/admin/interception/contract/?state__exact=all"):
        html = page(boss, url)
        header = html[html.index("column-id") :][:500]
        assert ">编号</a>" in header and ">ID<" not in header, url


def test_the_admins_hidden_table_headers_are_read_in_chinese(boss):
    html = page(boss, "/admin/")
    assert "Model name" not in html and "Change or view list link" not in html
    assert "数据类型" in html


def test_the_user_list_filters_by_role_under_chinese_names(boss):
    factories.user("cs", roles.CUSTOMER_SERVICE)
    html = page(boss, "/admin/auth/user/")
    assert all(name in html for name in ("客服", "网点人员", "财务", "主管"))
    assert ">Customer service<" not in html and ">Outlet staff<" not in html
    outlet_group = Group.objects.get(name=roles.OUTLET_STAFF)
    factories.user("staff", roles.OUTLET_STAFF)
    filtered = page(boss, f"/admin/auth/user/?role={outlet_group.pk}")
    assert ">staff<" in filtered and ">cs<" not in filtered


def test_carriers_are_listed_with_their_adapters_name(boss):
    Carrier.objects.filter(code="jt").update(adapter="sandbox")
    html = page(boss, "/admin/interception/carrier/")
    assert "沙箱（演示与测试）" in html and ">sandbox<" not in html
    assert "?adapter=sandbox" in html  # the filter still keys on the code


def test_a_failed_interception_reads_the_carriers_words_not_its_code(boss):
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", reason_code="signed", reason_text="已签收", source="callback"
    )
    (entry,) = [e for e in timeline.entries_for(order) if e.transition == "fail"]
    assert entry.reason == "已签收"
    html = page(boss, f"/admin/interception/interceptionorder/{order.pk}/change/")
    assert "快递原因代码" not in html and ">signed<" not in html
    assert "HTTP" not in html and "响应状态码" in html


def test_a_failure_without_words_keeps_its_code_on_the_timeline(boss):
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", reason_code="E042", source="callback"
    )
    (entry,) = [e for e in timeline.entries_for(order) if e.transition == "fail"]
    assert entry.reason == "E042"


def test_the_export_page_names_the_columns_as_the_file_does(boss):
    html = page(boss, "/admin/interception/aftersale/export/")
    assert "全选" in html and "Select all" not in html
    assert "售后单号" in html and "Number (" not in html and "Kind (" not in html


def test_the_carrier_page_names_adapters_without_their_codes(boss):
    carrier = Carrier.objects.get(code="jt")
    html = page(boss, f"/admin/interception/carrier/{carrier.pk}/change/")
    assert "沙箱（演示与测试）" in html and "(sandbox)" not in html and "为 sandbox 时" not in html


def test_the_outlets_bill_columns_and_the_decision_file_read_in_chinese(client):
    contract = factories.active_contract()
    factories.intercepted(contract)
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None, merchant=contract.merchant, outlet=contract.outlet, period_start=today, period_end=today
    ).statement
    settlement_services.statement_issue(statement_id=statement.pk, actor=None)
    client.force_login(factories.user("fin", roles.FINANCE))
    html = page(client, f"/admin/settlement/statement/{statement.pk}/reconcile/")
    assert "运单号、日期、费用" in html and "tracking_number" not in html
    html = page(client, "/admin/settlement/statement/generate/")
    assert "格式如 2026-11-01" in html and "YYYY-MM-DD" not in html
    client.force_login(factories.outlet_staff("staff", contract.outlet))
    html = page(client, "/admin/interception/contract/decisions/import/")
    assert "填写 通过 或 驳回" in html and "approve" not in html
