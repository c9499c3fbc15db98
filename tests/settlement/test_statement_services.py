"""Statements (R20-R22): generation, versions with adjustments, the outlet's answer, payment."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import translation

from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from settlement import services
from settlement.models import Statement, StatementLine
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOV = {"period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30)}


@pytest.fixture
def finance(db):
    return factories.user("fin", roles.FINANCE)


@pytest.fixture
def contract(db):
    return factories.active_contract(fee="4.50", carrier_code="zto")


def in_nov(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=SH)


def online_contract():
    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code="douyin")
    return factories.apply(merchant, outlet, mode="online", fee="3.00")


def generate(actor, contract, **period):
    return services.statement_generate(
        actor=actor, merchant=contract.merchant, outlet=contract.outlet, **(period or NOV)
    )


def issued(finance, contract, n=3):
    for day in range(1, n + 1):
        factories.intercepted(contract, at=in_nov(day))
    statement = generate(finance, contract).statement
    return services.statement_issue(statement_id=statement.pk, actor=finance)


def test_r20_generation_takes_the_chargeable_offline_results_of_the_period_with_their_fee_snapshot(finance, contract):
    inside = [factories.intercepted(contract, at=in_nov(day)) for day in (1, 15, 30)]
    factories.intercepted(contract, at=datetime(2026, 11, 30, 23, 59, tzinfo=SH))  # last minute, Shanghai time
    factories.intercepted(contract, at=datetime(2026, 12, 1, 0, 0, tzinfo=SH))  # next month
    factories.intercepted(contract, at=datetime(2026, 10, 31, 23, 59, tzinfo=SH))  # previous month
    failed = factories.intercepted(contract, result="failed", at=in_nov(3))  # not chargeable by default (R21)
    result = generate(finance, contract)
    statement = result.statement
    assert result.added == 4 and statement.state == Statement.State.DRAFT
    on_it = set(statement.lines.values_list("interception_id", flat=True))
    assert {o.pk for o in inside} < on_it and failed.pk not in on_it
    assert set(statement.lines.values_list("amount", flat=True)) == {Decimal("4.50")}
    assert statement.total == Decimal("18.00") and statement.line_count == 4
    assert statement.number.startswith("ST202611-") and statement.number.endswith("-v1")


def test_r6_a_fee_change_after_the_start_does_not_change_the_statement(finance, contract):
    order = factories.intercepted(contract, at=in_nov(2))
    contract.fee = Decimal("9.99")
    contract.save()
    line = generate(finance, contract).statement.lines.get()
    assert line.interception_id == order.pk and line.amount == Decimal("4.50")


def test_r21_a_contract_that_charges_failures_puts_them_on_the_statement(finance, contract):
    contract.charge_failed = True
    contract.save()
    factories.intercepted(contract, result="failed", at=in_nov(4))
    assert generate(finance, contract).added == 1


def test_r22_generating_again_finds_nothing_new_and_says_so(finance, contract):
    factories.intercepted(contract, at=in_nov(5))
    first = generate(finance, contract)
    again = generate(finance, contract)
    assert first.added == 1 and again.added == 0 and again.statement is None
    with translation.override("en"):
        assert "nothing new" in str(again.message)
    assert Statement.objects.count() == 1


def test_r22_late_results_join_the_draft_but_never_an_issued_statement(finance, contract):
    factories.intercepted(contract, at=in_nov(5))
    draft = generate(finance, contract).statement
    factories.intercepted(contract, at=in_nov(6))
    assert generate(finance, contract).statement.pk == draft.pk
    draft.refresh_from_db()
    assert draft.line_count == 2
    services.statement_issue(statement_id=draft.pk, actor=finance)
    factories.intercepted(contract, at=in_nov(7))
    late = generate(finance, contract)
    # Never a second current statement for the month: a new version of the issued one, which stays readable.
    assert late.statement.previous_id == draft.pk and late.statement.state == Statement.State.ISSUED
    assert late.statement.line_count == 3 and late.statement.total == Decimal("13.50")
    assert f"{draft.number}" in str(late.message) and late.statement.number in str(late.message)
    draft.refresh_from_db()
    assert draft.state == Statement.State.SUPERSEDED
    assert draft.line_count == 2 and draft.total == Decimal("9.00")
    current = Statement.objects.filter(merchant=contract.merchant, outlet=contract.outlet, **NOV).exclude(
        state__in=Statement.DEAD_STATES
    )
    assert list(current) == [late.statement]


def test_r22_a_late_result_after_the_outlet_confirmed_goes_on_a_supplementary_statement_and_says_so(finance, contract):
    factories.intercepted(contract, at=in_nov(5))
    first = generate(finance, contract).statement
    services.statement_issue(statement_id=first.pk, actor=finance)
    staff = factories.outlet_staff("zto_staff", contract.outlet)
    services.statement_confirm(statement_id=first.pk, actor=staff)
    factories.intercepted(contract, at=in_nov(8))
    late = generate(finance, contract)
    assert late.statement.pk != first.pk and late.statement.state == Statement.State.DRAFT
    assert late.statement.line_count == 1
    with translation.override("en"):
        assert first.number in str(late.message) and "supplementary" in str(late.message)
    first.refresh_from_db()
    assert first.state == Statement.State.CONFIRMED and first.line_count == 1


def test_r22_an_interception_is_on_one_current_statement_only_database_constraint(finance, contract):
    order = factories.intercepted(contract, at=in_nov(5))
    statement = generate(finance, contract).statement
    other = Statement.objects.create(
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 15),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StatementLine.objects.create(statement=other, interception=order, amount=Decimal("4.50"))
    services.statement_void(statement_id=statement.pk, actor=finance, reason="wrong period")
    again = services.statement_generate(
        actor=finance,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 15),
    )
    assert again.statement.pk == other.pk and again.added == 1


def test_generation_for_every_pair_of_a_month_is_one_action(finance, contract):
    other = factories.active_contract(fee="6.00", carrier_code="zto")
    factories.intercepted(contract, at=in_nov(2))
    factories.intercepted(other, at=in_nov(3))
    factories.intercepted(other, at=in_nov(4))
    results = services.statement_generate_all(actor=finance, **NOV)
    assert sorted(r.added for r in results) == [1, 2]
    assert services.statement_generate_all(actor=finance, **NOV) == []


def test_statement_total_equals_the_sum_of_its_lines_to_the_fen(finance):
    contract = factories.active_contract(fee="3.33", carrier_code="zto")
    for day in range(1, 8):
        factories.intercepted(contract, at=in_nov(day))
    statement = generate(finance, contract).statement
    new = services.statement_revise(
        statement_id=services.statement_issue(statement_id=statement.pk, actor=finance).pk,
        actor=finance,
        adjustments=[{"amount": "-0.01", "reason": "rounding agreed"}],
    )
    for s in (statement, new):
        s.refresh_from_db()
        assert s.total == s.lines.aggregate(t=Sum("amount"))["t"]
    assert statement.total == Decimal("23.31") and new.total == Decimal("23.30")


def test_r22_outlet_confirms_or_disputes_its_issued_statement(finance, contract, two_outlets):
    statement = issued(finance, contract)
    staff = factories.outlet_staff("outlet_zto", contract.outlet)
    services.statement_dispute(statement_id=statement.pk, actor=staff, reason="第3单我们收4元")
    statement.refresh_from_db()
    assert statement.state == Statement.State.DISPUTED and statement.dispute_reason == "第3单我们收4元"
    entry = list(timeline.entries_for(statement))[-1]
    assert (entry.transition, entry.actor_label, entry.from_state, entry.to_state) == (
        "dispute",
        "outlet_zto",
        "issued",
        "disputed",
    )
    with pytest.raises(DomainError) as refused:
        services.statement_dispute(statement_id=statement.pk, actor=staff, reason="again")
    assert refused.value.code == "invalid_state"


def test_r22_dispute_needs_a_reason(finance, contract):
    statement = issued(finance, contract)
    staff = factories.outlet_staff("outlet_zto", contract.outlet)
    with pytest.raises(DomainError) as refused:
        services.statement_dispute(statement_id=statement.pk, actor=staff, reason="  ")
    assert refused.value.code == "reason_required"


def test_r22_finance_cannot_confirm_and_outlet_cannot_issue(finance, contract):
    statement = issued(finance, contract)
    with pytest.raises(DomainError) as refused:
        services.statement_confirm(statement_id=statement.pk, actor=finance)
    assert refused.value.code == "forbidden"
    factories.intercepted(contract, at=in_nov(20))
    draft = generate(finance, contract, period_start=date(2026, 11, 20), period_end=date(2026, 11, 20)).statement
    assert draft.state == Statement.State.DRAFT
    staff = factories.outlet_staff("outlet_zto", contract.outlet)
    with pytest.raises(DomainError) as refused:
        services.statement_issue(statement_id=draft.pk, actor=staff)
    assert refused.value.code == "forbidden"


def test_r22_a_dispute_is_answered_by_a_new_version_with_adjustments_and_the_old_stays_readable(finance, contract):
    statement = issued(finance, contract, n=3)
    staff = factories.outlet_staff("outlet_zto", contract.outlet)
    services.statement_dispute(statement_id=statement.pk, actor=staff, reason="one fee is 4.00")
    tracking = statement.lines.first().tracking_number
    new = services.statement_revise(
        statement_id=statement.pk,
        actor=finance,
        reason="agreed",
        adjustments=[
            {"tracking_number": tracking.lower(), "amount": "-0.50", "reason": "fee 4.00 agreed for this parcel"}
        ],
    )
    statement.refresh_from_db()
    assert statement.state == Statement.State.SUPERSEDED
    assert statement.total == Decimal("13.50") and statement.line_count == 3  # unchanged, readable
    assert new.state == Statement.State.ISSUED and new.version == 2 and new.previous_id == statement.pk
    assert new.reference == statement.reference and new.number.endswith("-v2")
    assert new.total == Decimal("13.00") and new.line_count == 4
    adjustment = new.lines.get(kind="adjustment")
    assert adjustment.tracking_number == tracking and adjustment.reason == "fee 4.00 agreed for this parcel"
    # The interceptions moved to the new version: the constraint holds and a new generation finds nothing.
    assert generate(finance, contract).added == 0
    services.statement_confirm(statement_id=new.pk, actor=staff)


def test_r22_a_new_version_needs_adjustments_with_reasons_on_the_statements_parcels(finance, contract):
    statement = issued(finance, contract)
    for adjustments, code in [
        ([], "adjustment_required"),
        ([{"amount": "-1.00", "reason": ""}], "reason_required"),
        ([{"amount": "0", "reason": "x"}], "amount_zero"),
        ([{"amount": "1.005", "reason": "x"}], "amount_invalid"),
        ([{"amount": "1", "reason": "x", "tracking_number": "NOPE123"}], "tracking_not_on_statement"),
    ]:
        with pytest.raises(DomainError) as refused:
            services.statement_revise(statement_id=statement.pk, actor=finance, adjustments=adjustments)
        assert refused.value.code == code
    statement.refresh_from_db()
    assert statement.state == Statement.State.ISSUED and not Statement.objects.filter(version=2).exists()


def test_r22_payment_of_a_confirmed_statement_must_match_the_total_or_say_why(finance, contract):
    statement = issued(finance, contract, n=2)
    staff = factories.outlet_staff("outlet_zto", contract.outlet)
    services.statement_confirm(statement_id=statement.pk, actor=staff)
    paid_at = in_nov(30, 10)
    with pytest.raises(DomainError) as refused:
        services.statement_settle(
            statement_id=statement.pk,
            actor=finance,
            payment_reference="BANK-1",
            paid_at=paid_at,
            paid_amount=Decimal("8.00"),
        )
    assert refused.value.code == "amount_mismatch"
    services.statement_settle(
        statement_id=statement.pk,
        actor=finance,
        payment_reference="BANK-1",
        paid_at=paid_at,
        paid_amount=Decimal("8.00"),
        difference_reason="1.00 offset against claim C-7",
    )
    statement.refresh_from_db()
    assert statement.state == Statement.State.SETTLED and statement.paid_amount == Decimal("8.00")
    assert statement.payment_reference == "BANK-1" and statement.difference_reason.startswith("1.00 offset")


def test_r22_exact_payment_needs_no_reason_but_a_reference(finance, contract):
    statement = issued(finance, contract, n=2)
    services.statement_confirm(statement_id=statement.pk, actor=None)
    with pytest.raises(DomainError) as refused:
        services.statement_settle(
            statement_id=statement.pk, actor=finance, payment_reference=" ", paid_at=in_nov(30), paid_amount="9.00"
        )
    assert refused.value.code == "reference_required"
    services.statement_settle(
        statement_id=statement.pk, actor=finance, payment_reference="B2", paid_at=in_nov(30), paid_amount="9.00"
    )
    statement.refresh_from_db()
    assert statement.state == Statement.State.SETTLED


def test_r22_an_unconfirmed_statement_cannot_be_settled(finance, contract):
    statement = issued(finance, contract)
    with pytest.raises(DomainError) as refused:
        services.statement_settle(
            statement_id=statement.pk,
            actor=finance,
            payment_reference="B",
            paid_at=in_nov(30),
            paid_amount=statement.total,
        )
    assert refused.value.code == "invalid_state"


def test_r19_a_chargeable_online_interception_is_on_the_ledger_and_the_platform_keeps_nothing(finance):
    from settlement.models import OnlineFee

    contract = online_contract()
    order = factories.intercepted(contract, at=in_nov(9))
    failed = factories.intercepted(contract, result="failed", at=in_nov(9))
    offline = factories.intercepted(factories.active_contract(carrier_code="zto"), at=in_nov(9))
    entry = OnlineFee.objects.get()
    assert entry.interception_id == order.pk and entry.month == date(2026, 11, 1)
    assert entry.collected == entry.passed_on == order.fee
    assert not OnlineFee.objects.filter(interception__in=[failed, offline]).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        OnlineFee.objects.filter(pk=entry.pk).update(passed_on=entry.collected - Decimal("0.01"))


def test_r19_monthly_totals_per_carrier_and_platform(finance):
    from settlement import selectors

    contract = online_contract()
    for day in (1, 2):
        factories.intercepted(contract, at=in_nov(day))
    factories.intercepted(contract, at=datetime(2026, 12, 1, 0, 30, tzinfo=SH))
    rows = list(selectors.online_fee_totals(finance))
    assert [(r["month"], r["interceptions"], r["collected"], r["passed_on"]) for r in rows] == [
        (date(2026, 12, 1), 1, Decimal("3.00"), Decimal("3.00")),
        (date(2026, 11, 1), 2, Decimal("6.00"), Decimal("6.00")),
    ]
