from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from interception import services
from interception.models import (
    Contract,
    ContractFee,
    FeeAmendment,
    InterceptionAgreement,
    SettlementMode,
)
from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


def codes(outcome):
    return {p.code for p in outcome.problems}


def apply_outcome(merchant, outlet, **kwargs):
    kwargs.setdefault("mode", "offline")
    kwargs.setdefault("fee", "4.50")
    (outcome,) = services.contract_apply(
        merchant=merchant,
        platform=kwargs.pop("platform", merchant.platform),
        outlets=[outlet],
        actor=kwargs.pop("actor", None),
        **kwargs,
    )
    return outcome


def test_r1_contract_needs_active_ewaybill_account_with_that_outlet():
    merchant = factories.MerchantFactory()
    outlet = factories.OutletFactory()
    assert codes(apply_outcome(merchant, outlet)) == {"no_ewaybill"}
    factories.EwaybillFactory(merchant=merchant, outlet=outlet, active=False)
    assert codes(apply_outcome(merchant, outlet)) == {"no_ewaybill"}


def test_r1_ewaybill_with_another_outlet_does_not_count():
    merchant, _ = factories.contract_setup()
    assert codes(apply_outcome(merchant, factories.OutletFactory())) == {"no_ewaybill"}


def test_r2_platform_must_offer_carrier_and_mode():
    merchant, outlet = factories.contract_setup(carrier_code="zto", platform_code="douyin")
    assert codes(apply_outcome(merchant, outlet, mode="offline")) == {"mode_not_offered"}
    assert apply_outcome(merchant, outlet, mode="online").ok
    merchant, outlet = factories.contract_setup(carrier_code="jt", platform_code="kuaishou")
    assert codes(apply_outcome(merchant, outlet, mode="online")) == {"mode_not_offered"}


def test_r2_carrier_without_interception_is_refused_and_adding_one_is_data():
    from interception.models import Carrier, PlatformCarrier

    new = Carrier.objects.create(code="ems", name="EMS")
    merchant, outlet = factories.contract_setup(carrier_code="ems")
    assert codes(apply_outcome(merchant, outlet)) == {"carrier_not_offered"}
    PlatformCarrier.objects.create(platform=merchant.platform, carrier=new, offline_mode=True)
    assert apply_outcome(merchant, outlet).contract.state == Contract.State.PENDING


def test_r3_yto_contract_is_active_at_once_with_timeline_reason():
    merchant, outlet = factories.contract_setup(carrier_code="yto")
    contract = apply_outcome(merchant, outlet).contract
    assert contract.state == Contract.State.ACTIVE
    last = list(timeline.entries_for(contract))[-1]
    assert (last.transition, last.actor_label, last.to_state) == ("approve", "system", "active")
    assert last.reason == "approved automatically: carrier requires no review"


def test_r3_other_carriers_wait_for_the_outlet_then_approve_or_reject_with_reason():
    merchant, outlet = factories.contract_setup(carrier_code="jt")
    contract = apply_outcome(merchant, outlet).contract
    assert contract.state == Contract.State.PENDING
    staff = factories.outlet_staff("s", outlet)
    with pytest.raises(DomainError) as err:
        services.contract_reject(contract_id=contract.pk, actor=staff, reason="  ")
    assert err.value.code == "reason_required"
    services.contract_reject(contract_id=contract.pk, actor=staff, reason="fee too low")
    contract.refresh_from_db()
    assert (contract.state, contract.reject_reason, contract.decided_by) == ("rejected", "fee too low", staff)


def test_r3_customer_service_cannot_approve():
    merchant, outlet = factories.contract_setup()
    contract = apply_outcome(merchant, outlet).contract
    with pytest.raises(DomainError) as err:
        services.contract_approve(contract_id=contract.pk, actor=factories.user("cs", roles.CUSTOMER_SERVICE))
    assert err.value.code == "forbidden"


def test_r3_outlet_staff_cannot_decide_another_outlets_application():
    merchant, outlet = factories.contract_setup()
    contract = apply_outcome(merchant, outlet).contract
    other = factories.outlet_staff("other", factories.OutletFactory())
    with pytest.raises(DomainError) as err:
        services.contract_approve(contract_id=contract.pk, actor=other)
    assert err.value.code == "not_found"


def test_one_live_contract_per_merchant_outlet_platform():
    merchant, outlet = factories.contract_setup()
    assert apply_outcome(merchant, outlet).ok
    assert codes(apply_outcome(merchant, outlet)) == {"contract_exists"}


@pytest.mark.parametrize("fee, code", [("-1", "fee_negative"), ("1.234", "fee_precision")])
def test_fee_must_be_non_negative_with_two_decimals(fee, code):
    merchant, outlet = factories.contract_setup()
    assert codes(apply_outcome(merchant, outlet, fee=fee)) == {code}


def test_apply_reports_each_outlet_separately():
    merchant, good = factories.contract_setup()
    bad = factories.OutletFactory()
    outcomes = services.contract_apply(
        merchant=merchant, platform=merchant.platform, outlets=[good, bad], mode="offline", fee="3.00", actor=None
    )
    assert [o.ok for o in outcomes] == [True, False]
    assert codes(outcomes[1]) == {"no_ewaybill"}


def test_online_contract_takes_the_platform_fee():
    merchant, outlet = factories.contract_setup(carrier_code="jt", platform_code="douyin")
    contract = apply_outcome(merchant, outlet, mode="online", fee="9.99").contract
    assert contract.fee == Decimal("3.00") and contract.settlement_mode == SettlementMode.ONLINE


def test_r4_close_requires_reason_and_keeps_history_and_reapply_is_new():
    contract = factories.active_contract()
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    with pytest.raises(DomainError) as err:
        services.contract_close(contract_id=contract.pk, actor=cs, reason="")
    assert err.value.code == "reason_required"
    services.contract_close(contract_id=contract.pk, actor=cs, reason="outlet moved")
    contract.refresh_from_db()
    assert (contract.state, contract.close_reason) == ("closed", "outlet moved")
    again = apply_outcome(contract.merchant, contract.outlet).contract
    assert again.pk != contract.pk and again.state == "pending"
    assert Contract.objects.filter(merchant=contract.merchant).count() == 2


def test_r4_only_active_contracts_can_be_closed():
    merchant, outlet = factories.contract_setup()
    contract = apply_outcome(merchant, outlet).contract
    with pytest.raises(DomainError) as err:
        services.contract_close(contract_id=contract.pk, actor=None, reason="x")
    assert err.value.code == "invalid_state"


def test_r5_agreement_is_signed_once_per_platform():
    merchant = factories.MerchantFactory()
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    first, created = services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=cs)
    again, created_again = services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=cs)
    assert created and not created_again and first.pk == again.pk
    assert InterceptionAgreement.objects.filter(merchant=merchant).count() == 1
    with pytest.raises(DomainError) as err:
        services.agreement_sign(merchant=merchant, platform=factories.platform("douyin"), actor=cs)
    assert err.value.code == "wrong_platform"


def test_r6_fee_change_needs_outlet_approval_old_fee_applies_until_then():
    contract = factories.active_contract(fee="5.00")
    before = timezone.now()
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    amendment = services.contract_amend_fee(contract_id=contract.pk, new_fee="6.50", actor=cs)
    contract.refresh_from_db()
    assert contract.fee == Decimal("5.00")
    assert contract.fee_at(timezone.now()) == Decimal("5.00")
    staff = factories.outlet_staff("s", contract.outlet)
    services.amendment_approve(amendment_id=amendment.pk, actor=staff)
    contract.refresh_from_db()
    assert contract.fee == Decimal("6.50")
    assert contract.fee_at(before) == Decimal("5.00")
    assert contract.fee_at(timezone.now()) == Decimal("6.50")
    assert list(ContractFee.objects.filter(contract=contract).values_list("fee", flat=True)) == [
        Decimal("5.00"),
        Decimal("6.50"),
    ]


def test_r6_rejected_fee_change_leaves_fee_and_needs_reason():
    contract = factories.active_contract(fee="5.00")
    amendment = services.contract_amend_fee(contract_id=contract.pk, new_fee="4.00", actor=None)
    with pytest.raises(DomainError):
        services.contract_amend_fee(contract_id=contract.pk, new_fee="3.00", actor=None)  # one pending at a time
    staff = factories.outlet_staff("s", contract.outlet)
    with pytest.raises(DomainError) as err:
        services.amendment_reject(amendment_id=amendment.pk, actor=staff, reason="")
    assert err.value.code == "reason_required"
    services.amendment_reject(amendment_id=amendment.pk, actor=staff, reason="no")
    contract.refresh_from_db()
    assert contract.fee == Decimal("5.00")
    assert FeeAmendment.objects.get(pk=amendment.pk).state == "rejected"


def test_r6_online_fee_cannot_be_negotiated():
    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code="douyin")
    contract = apply_outcome(merchant, outlet, mode="online").contract
    with pytest.raises(DomainError) as err:
        services.contract_amend_fee(contract_id=contract.pk, new_fee="5.00", actor=None)
    assert err.value.code == "fee_fixed_online"


def test_pending_waits_are_filterable(client):
    merchant, outlet = factories.contract_setup()
    old = apply_outcome(merchant, outlet).contract
    Contract.objects.filter(pk=old.pk).update(applied_at=timezone.now() - timedelta(days=8))
    merchant2, _ = factories.contract_setup(outlet=outlet)
    fresh = apply_outcome(merchant2, outlet).contract
    client.force_login(factories.outlet_staff("s", outlet))
    page = client.get("/admin/interception/contract/", {"waiting_days": "7"}).content.decode()
    assert f"/admin/interception/contract/{old.pk}/change/" in page
    assert f"/admin/interception/contract/{fresh.pk}/change/" not in page


def test_r6_fee_change_needs_an_active_contract_also_when_approved():
    merchant, outlet = factories.contract_setup()
    pending = apply_outcome(merchant, outlet).contract
    with pytest.raises(DomainError) as err:
        services.contract_amend_fee(contract_id=pending.pk, new_fee="9.00", actor=None)
    assert err.value.code == "invalid_state" and "待审核" in err.value.message
    contract = factories.active_contract(fee="5.00")
    amendment = services.contract_amend_fee(contract_id=contract.pk, new_fee="6.00", actor=None)
    services.contract_close(contract_id=contract.pk, actor=None, reason="stop")
    assert FeeAmendment.objects.get(pk=amendment.pk).state == "rejected"  # closing rejects the waiting change
    with pytest.raises(DomainError) as err:
        services.amendment_approve(amendment_id=amendment.pk, actor=None)
    assert err.value.code == "invalid_state"
    contract.refresh_from_db()
    assert contract.fee == Decimal("5.00")
