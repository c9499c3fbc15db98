"""Races with real threads and real transactions on statements (R22)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal import roles
from settlement import services
from settlement.models import Statement, StatementLine
from tests import factories
from tests.interception.test_interception_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)
SH = ZoneInfo("Asia/Shanghai")


def test_r22_two_generations_at_once_put_each_interception_on_one_statement():
    finance = factories.user("fin", roles.FINANCE)
    contract = factories.active_contract(fee="4.50", carrier_code="zto")
    orders = [factories.intercepted(contract, at=datetime(2026, 11, d, 12, tzinfo=SH)) for d in range(1, 7)]
    results = race(
        4,
        lambda i: (
            services.statement_generate(
                actor=finance,
                merchant=contract.merchant,
                outlet=contract.outlet,
                period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30),
            ).added
        ),
    )
    assert sorted(results) == [0, 0, 0, 6]
    assert Statement.objects.count() == 1
    assert sorted(StatementLine.objects.values_list("interception_id", flat=True)) == sorted(o.pk for o in orders)


def test_r22_confirm_racing_a_new_version_leaves_one_consistent_outcome():
    finance = factories.user("fin", roles.FINANCE)
    contract = factories.active_contract(fee="4.50", carrier_code="zto")
    factories.intercepted(contract, at=datetime(2026, 11, 2, 12, tzinfo=SH))
    staff = factories.outlet_staff("zto_staff", contract.outlet)
    statement = services.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    ).statement
    services.statement_issue(statement_id=statement.pk, actor=finance)

    def work(i):
        if i == 0:
            return services.statement_confirm(statement_id=statement.pk, actor=staff).state
        return services.statement_revise(
            statement_id=statement.pk, actor=finance, adjustments=[{"amount": "-0.50", "reason": "goodwill"}]
        ).state

    results = race(2, work)
    statement.refresh_from_db()
    if statement.state == Statement.State.CONFIRMED:
        assert results == ["confirmed", "invalid_state"] and not Statement.objects.filter(version=2).exists()
    else:
        assert results == ["invalid_state", "issued"] and statement.state == Statement.State.SUPERSEDED
        assert Statement.objects.get(version=2).state == Statement.State.ISSUED
