import threading

import pytest
from django.db import connection

from interception import services
from interception.models import Contract
from kernel import timeline
from kernel.errors import DomainError
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_reject_make_exactly_one_decision():
    merchant, outlet = factories.contract_setup()
    contract = factories.apply(merchant, outlet)
    staff = [factories.outlet_staff(f"s{i}", outlet) for i in range(6)]
    barrier = threading.Barrier(len(staff))
    results = []

    def decide(i, user):
        try:
            barrier.wait()
            if i % 2:
                services.contract_approve(contract_id=contract.pk, actor=user)
            else:
                services.contract_reject(contract_id=contract.pk, actor=user, reason="busy")
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(i, u)) for i, u in enumerate(staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert sorted(set(results) - {"ok"}) == ["invalid_state"]
    contract.refresh_from_db()
    assert contract.state in (Contract.State.ACTIVE, Contract.State.REJECTED)
    decisions = [e for e in timeline.entries_for(contract) if e.transition in ("approve", "reject")]
    assert len(decisions) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_applications_create_one_live_contract():
    merchant, outlet = factories.contract_setup()
    barrier = threading.Barrier(4)
    outcomes = []

    def apply():
        try:
            barrier.wait()
            outcomes.extend(
                services.contract_apply(
                    merchant=merchant,
                    platform=merchant.platform,
                    outlets=[outlet],
                    mode="offline",
                    fee="3.00",
                    actor=None,
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.ok for o in outcomes) == 1
    assert all({p.code for p in o.problems} == {"contract_exists"} for o in outcomes if not o.ok)
    assert Contract.objects.filter(merchant=merchant).count() == 1
