"""Whether a fee covers the return shipping (R19: Douyin's online fee "covers interception and return shipping"):
the contract says so, the interception snapshots it at start (R6), the statement line shows it."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import IntegrityError, transaction

from interception import services
from interception.models import Contract, InterceptionOrder
from portal import roles
from settlement import services as settlement_services
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
INCLUDED, SEPARATE = "拦截费含退回运费", "退回运费另计"


def applied(mode, *, platform_code="douyin", carrier_code="jt", **kwargs):
    merchant, outlet = factories.contract_setup(carrier_code=carrier_code, platform_code=platform_code)
    (outcome,) = services.contract_apply(
        merchant=merchant, platform=merchant.platform, outlets=[outlet], mode=mode, fee="4.00", actor=None, **kwargs
    )
    assert outcome.ok, outcome.problems
    return outcome.contract


def test_r19_online_contract_fee_always_includes_the_return():
    assert applied("online").fee_includes_return
    assert applied("online", fee_includes_return=False).fee_includes_return


def test_r19_offline_contract_says_whether_its_fee_includes_the_return():
    assert not applied("offline").fee_includes_return
    assert applied("offline", fee_includes_return=True).fee_includes_return


def test_r19_the_database_refuses_an_online_contract_charging_return_separately():
    contract = applied("online")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.filter(pk=contract.pk).update(fee_includes_return=False)


def approved(contract):
    if contract.state == Contract.State.PENDING:
        services.contract_approve(contract_id=contract.pk, actor=None)
        contract.refresh_from_db()
    return contract


def test_r6_r19_interception_snapshots_whether_the_fee_includes_the_return():
    included = factories.intercepted(approved(applied("offline", fee_includes_return=True)))
    separate = factories.intercepted(approved(applied("offline")))
    online = factories.intercepted(approved(applied("online")))
    assert [o.fee_includes_return for o in (included, separate, online)] == [True, False, True]
    # The snapshot is the interception's own column: history never changes with the contract.
    Contract.objects.filter(pk=included.contract_id).update(fee_includes_return=False)
    assert InterceptionOrder.objects.get(pk=included.pk).fee_includes_return


def test_r19_apply_form_and_contract_page_say_whether_the_fee_includes_the_return(client):
    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code="douyin")
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    response = client.post(
        "/admin/interception/contract/apply/",
        {
            "merchant": merchant.pk,
            "platform": merchant.platform.pk,
            "carrier": outlet.carrier.pk,
            "outlets": [outlet.pk],
            "mode": "offline",
            "fee": "4.00",
            "fee_includes_return": "on",
        },
    )
    assert response.status_code == 200
    contract = Contract.objects.get(merchant=merchant)
    assert contract.fee_includes_return and contract.state == "active"  # YTO: no review (R3)
    page = client.get(f"/admin/interception/contract/{contract.pk}/change/").content.decode()
    assert INCLUDED in page and SEPARATE not in page
    other = approved(applied("offline"))
    page = client.get(f"/admin/interception/contract/{other.pk}/change/").content.decode()
    assert SEPARATE in page


def test_r19_interception_page_and_interception_say_whether_the_fee_includes_the_return(client):
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    client.force_login(cs)
    contract = approved(applied("offline"))
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    after_sale = factories.after_sale_for(factories.parcel_for(contract))
    page = client.get(f"/admin/interception/aftersale/{after_sale.pk}/intercept/").content.decode()
    assert f'<p class="portal-return-shipping">{SEPARATE}</p>' in page
    order = factories.started(after_sale)
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert SEPARATE in page
    online = factories.intercepted(approved(applied("online")))
    page = client.get(f"/admin/interception/interceptionorder/{online.pk}/change/").content.decode()
    assert INCLUDED in page


def test_r19_api_applies_with_and_shows_whether_the_fee_includes_the_return(api):
    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code="douyin")
    client = api(factories.api_client_for(merchant=merchant))
    body = {"platform": "douyin", "carrier": "yto", "outlets": [outlet.code], "mode": "offline", "fee": "4.00"}
    response = client.post("/api/v1/contracts/", {**body, "fee_includes_return": True}, format="json")
    assert response.status_code == 201, response.json()
    (contract,) = client.get("/api/v1/contracts/").json()["results"]
    assert contract["fee_includes_return"] is True


def test_r19_decision_file_shows_whether_the_fee_includes_the_return(client):
    merchant, outlet = factories.contract_setup(carrier_code="jt", platform_code="douyin")
    applied_for = factories.apply(merchant, outlet)
    assert applied_for.state == "pending"
    client.force_login(factories.outlet_staff("staff", outlet))
    response = client.get("/admin/interception/contract/decisions/export/", {"format": "csv"})
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[:2]
    assert row[header.index("退回运费")] == SEPARATE


def test_r19_statement_line_shows_whether_the_fee_included_the_return(client):
    contract = approved(applied("offline", fee_includes_return=True, carrier_code="yto"))
    finance = factories.user("fin", roles.FINANCE)
    factories.intercepted(contract, at=datetime(2026, 11, 3, 12, tzinfo=SH))
    statement = settlement_services.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement
    client.force_login(finance)
    lines = client.get("/admin/settlement/statementline/", {"statement__id__exact": statement.pk}).content.decode()
    assert INCLUDED in lines and Decimal("4.00") == statement.lines.get().amount
    body = b"".join(client.get(f"/admin/settlement/statement/{statement.pk}/export/csv/").streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = next(i for i, row in enumerate(rows) if "退回运费" in row)
    assert rows[header + 1][rows[header].index("退回运费")] == INCLUDED
    body = b"".join(client.get(f"/admin/settlement/statement/{statement.pk}/export/xlsx/").streaming_content)
    values = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows()]
    header = next(i for i, row in enumerate(values) if "退回运费" in row)
    assert values[header + 1][values[header].index("退回运费")] == INCLUDED
