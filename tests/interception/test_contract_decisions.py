"""The set-based decision service: many applications and fee changes decided as one (R3, R6)."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from interception import services
from interception.models import Contract, ContractFee, FeeAmendment
from kernel import timeline
from kernel.errors import DomainError
from kernel.models import TimelineEntry
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

APP, FEE = services.APPLICATION, services.FEE_CHANGE


def pending(outlet, n):
    contracts = []
    for _ in range(n):
        merchant, _outlet = factories.contract_setup(outlet=outlet)
        contracts.append(factories.apply(merchant, outlet))
    return contracts


def decide(decisions, actor, **kwargs):
    return services.decisions_apply(decisions=decisions, actor=actor, **kwargs)


def written_rows():
    return TimelineEntry.objects.count(), ContractFee.objects.count()


def test_r3_a_set_of_approvals_and_rejections_is_written_with_its_fee_history_and_timeline():
    outlet = factories.OutletFactory()
    a, b, c = pending(outlet, 3)
    staff = factories.outlet_staff("s", outlet)
    decide(
        [
            services.Decision(APP, a.pk, "approve", "welcome"),
            services.Decision(APP, b.pk, "approve"),
            services.Decision(APP, c.pk, "reject", "  no capacity  "),
        ],
        staff,
    )
    for contract in (a, b, c):
        contract.refresh_from_db()
    assert [x.state for x in (a, b, c)] == ["active", "active", "rejected"]
    assert (a.decided_by, c.decided_by, c.reject_reason) == (staff, staff, "no capacity")
    assert a.fee_at(a.decided_at) == a.fee and not c.fee_history.exists()
    last = [list(timeline.entries_for(x))[-1] for x in (a, b, c)]
    assert [(e.transition, e.from_state, e.to_state, e.actor_label) for e in last] == [
        ("approve", "pending", "active", "s"),
        ("approve", "pending", "active", "s"),
        ("reject", "pending", "rejected", "s"),
    ]
    assert (last[0].reason, last[2].reason) == ("welcome", "no capacity")


def test_the_statements_do_not_grow_with_the_set():
    outlet = factories.OutletFactory()
    staff = factories.outlet_staff("s", outlet)
    decide([services.Decision(APP, pending(outlet, 1)[0].pk, "approve")], staff)  # the user's permissions cached
    counts = []
    for n in (2, 12):
        contracts = pending(outlet, n)
        with CaptureQueriesContext(connection) as queries:
            decide([services.Decision(APP, x.pk, "approve") for x in contracts], staff)
        counts.append(len(queries))
        assert Contract.objects.filter(pk__in=[x.pk for x in contracts], state="active").count() == n
    # a savepoint and its release, one locking SELECT, one UPDATE, one INSERT of fees, one of the timeline
    assert counts == [6, 6]


def test_r3_the_set_refuses_exactly_what_one_by_one_refuses():
    """Not yours, unknown, decided already, a reject without reason, the same one twice: the codes the
    single-row services give, per decision."""
    outlet, other = factories.OutletFactory(), factories.OutletFactory()
    mine, decided, no_reason, twice = pending(outlet, 4)
    (theirs,) = pending(other, 1)
    staff = factories.outlet_staff("s", outlet)
    services.contract_reject(contract_id=decided.pk, actor=staff, reason="earlier")
    decisions = [
        services.Decision(APP, theirs.pk, "approve"),
        services.Decision(APP, 999_999, "approve"),
        services.Decision(APP, decided.pk, "approve"),
        services.Decision(APP, no_reason.pk, "reject", "  "),
        services.Decision(APP, twice.pk, "approve"),
        services.Decision(APP, twice.pk, "reject", "changed my mind"),
        services.Decision(APP, mine.pk, "approve"),
    ]
    before = written_rows()
    with pytest.raises(services.DecisionsRefused) as refused:
        decide(decisions, staff)
    assert [(d.id, e.code) for d, e in refused.value.refusals] == [
        (theirs.pk, "not_found"),
        (999_999, "not_found"),
        (decided.pk, "invalid_state"),
        (no_reason.pk, "reason_required"),
        (twice.pk, "invalid_state"),
    ]
    # all or nothing: the good ones were not applied either
    assert written_rows() == before
    assert Contract.objects.get(pk=mine.pk).state == Contract.State.PENDING
    assert Contract.objects.get(pk=twice.pk).state == Contract.State.PENDING
    for d, error in refused.value.refusals[:4]:
        with pytest.raises(DomainError) as one:
            getattr(services, f"contract_{d.action}")(contract_id=d.id, actor=staff, reason=d.reason)
        assert (one.value.code, str(one.value.message)) == (error.code, str(error.message))


def test_r3_customer_service_is_refused_every_decision_of_a_set():
    outlet = factories.OutletFactory()
    contracts = pending(outlet, 2)
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    outcomes = decide([services.Decision(APP, x.pk, "approve") for x in contracts], cs, all_or_nothing=False)
    assert [error.code for _d, _obj, error in outcomes] == ["forbidden", "forbidden"]
    assert not Contract.objects.filter(pk__in=[x.pk for x in contracts], state="active").exists()


def test_without_all_or_nothing_the_allowed_decisions_are_applied_and_the_rest_reported():
    outlet = factories.OutletFactory()
    good, bad = pending(outlet, 2)
    staff = factories.outlet_staff("s", outlet)
    services.contract_approve(contract_id=bad.pk, actor=staff)
    outcomes = decide(
        [services.Decision(APP, good.pk, "approve", key="g"), services.Decision(APP, bad.pk, "reject", "x", key="b")],
        staff,
        all_or_nothing=False,
    )
    assert [(d.key, obj is not None, error and error.code) for d, obj, error in outcomes] == [
        ("g", True, None),
        ("b", False, "invalid_state"),
    ]
    assert Contract.objects.get(pk=good.pk).state == "active"
    assert Contract.objects.get(pk=bad.pk).state == "active"


def test_r6_fee_changes_in_a_set_change_the_fee_in_force_or_leave_it():
    staff_outlet = factories.OutletFactory()
    staff = factories.outlet_staff("s", staff_outlet)
    contracts = []
    for fee in ("5.00", "6.00", "7.00"):
        merchant, _o = factories.contract_setup(outlet=staff_outlet)
        contract = factories.apply(merchant, staff_outlet, fee=fee)
        services.contract_approve(contract_id=contract.pk, actor=staff)
        contracts.append(contract)
    amendments = [
        services.contract_amend_fee(contract_id=c.pk, new_fee=new, actor=None)
        for c, new in zip(contracts, ("5.50", "6.50", "7.50"))
    ]
    # the third contract is closed before the outlet decides: its fee change dies with it
    services.contract_close(contract_id=contracts[2].pk, actor=None, reason="merchant left")
    with pytest.raises(services.DecisionsRefused) as refused:
        decide([services.Decision(FEE, a.pk, "approve") for a in amendments], staff)
    assert [(d.id, e.code) for d, e in refused.value.refusals] == [(amendments[2].pk, "invalid_state")]
    decide(
        [services.Decision(FEE, amendments[0].pk, "approve"), services.Decision(FEE, amendments[1].pk, "reject", "no")],
        staff,
    )
    for obj in (*contracts, *amendments):
        obj.refresh_from_db()
    assert [str(c.fee) for c in contracts[:2]] == ["5.50", "6.00"]
    assert [a.state for a in amendments] == ["approved", "rejected", "rejected"]
    assert ContractFee.objects.filter(amendment=amendments[0], fee="5.50").exists()
    assert not ContractFee.objects.filter(amendment=amendments[1]).exists()
    assert [e.reason for e in timeline.entries_for(contracts[0])][-1] == "5.00 → 5.50"
    assert [e.reason for e in timeline.entries_for(contracts[1])][-1] == "6.00 → 6.50: no"
    assert [e.transition for e in timeline.entries_for(amendments[1])][-1] == "reject_fee_change"


def test_applications_and_fee_changes_share_one_set():
    outlet = factories.OutletFactory()
    staff = factories.outlet_staff("s", outlet)
    (application,) = pending(outlet, 1)
    merchant, _o = factories.contract_setup(outlet=outlet)
    active = factories.apply(merchant, outlet)
    services.contract_approve(contract_id=active.pk, actor=staff)
    amendment = services.contract_amend_fee(contract_id=active.pk, new_fee="9.00", actor=None)
    outcomes = decide(
        [services.Decision(FEE, amendment.pk, "approve"), services.Decision(APP, application.pk, "approve")], staff
    )
    assert [type(obj) for _d, obj, _e in outcomes] == [FeeAmendment, Contract]
    assert Contract.objects.get(pk=active.pk).fee == FeeAmendment.objects.get(pk=amendment.pk).new_fee


@pytest.mark.django_db(transaction=True)
def test_r3_two_overlapping_sets_at_once_decide_each_application_once():
    outlet = factories.OutletFactory()
    contracts = pending(outlet, 6)
    staff = [factories.outlet_staff(f"s{i}", outlet) for i in range(2)]
    barrier = threading.Barrier(2)
    results = {}

    def run(i, user):
        # the first takes contracts 0-3 (approving), the second 2-5 (rejecting), in opposite orders
        chosen = contracts[:4] if i == 0 else list(reversed(contracts[2:]))
        action, reason = ("approve", "") if i == 0 else ("reject", "busy")
        try:
            barrier.wait()
            decide([services.Decision(APP, x.pk, action, reason) for x in chosen], user)
            results[i] = "ok"
        except services.DecisionsRefused as refused:
            results[i] = sorted({e.code for _d, e in refused.refusals})
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # whichever came second found the overlap decided and, all or nothing, changed nothing
    assert sorted(results.values(), key=str) == [["invalid_state"], "ok"]
    states = [Contract.objects.get(pk=x.pk).state for x in contracts]
    if results[0] == "ok":
        assert states == ["active"] * 4 + ["pending"] * 2
    else:
        assert states == ["pending"] * 2 + ["rejected"] * 4
    decisions = TimelineEntry.objects.filter(
        transition__in=["approve", "reject"], object_id__in=[x.pk for x in contracts]
    )
    assert decisions.count() == 4


def test_a_set_larger_than_one_statement_takes_is_locked_and_written_in_batches(monkeypatch):
    from kernel import sql

    monkeypatch.setattr(sql, "IN_BATCH", 2)
    outlet = factories.OutletFactory()
    contracts = pending(outlet, 5)
    decide([services.Decision(APP, x.pk, "approve") for x in contracts], factories.outlet_staff("s", outlet))
    assert Contract.objects.filter(pk__in=[x.pk for x in contracts], state="active").count() == 5
    assert ContractFee.objects.filter(contract__in=contracts).count() == 5


def test_r3_a_set_larger_than_a_chunk_is_still_all_or_nothing_and_lists_every_refusal(monkeypatch):
    # Chunks bound the memory a 50,000-row decision file takes; the file stays one decision.
    monkeypatch.setattr("interception.services.contracts.DECISION_CHUNK", 3)
    outlet = factories.OutletFactory()
    staff = factories.outlet_staff("s", outlet)
    contracts = pending(outlet, 7)
    before = written_rows()
    decisions = [services.Decision(APP, x.pk, "approve") for x in contracts[:6]]
    decisions += [services.Decision(APP, contracts[6].pk, "reject", "  "), services.Decision(APP, 999_999, "approve")]
    with pytest.raises(services.DecisionsRefused) as refused:
        decide(decisions, staff)
    assert [d.id for d, _error in refused.value.refusals] == [contracts[6].pk, 999_999]
    assert not Contract.objects.filter(pk__in=[x.pk for x in contracts], state="active").exists()
    assert written_rows() == before
    outcomes = decide([services.Decision(APP, x.pk, "approve") for x in contracts], staff)
    assert [error for _d, _obj, error in outcomes] == [None] * 7
    assert Contract.objects.filter(pk__in=[x.pk for x in contracts], state="active").count() == 7
    assert ContractFee.objects.count() == before[1] + 7
