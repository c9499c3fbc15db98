"""Demo claims in every state and candidates waiting. Idempotent.

Interceptions whose return failed are made through the services and moved back in time, so the
arbitration window (day 7 to day 30) is open for the ones that need it.
"""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from claims import services
from claims.models import Claim
from interception import services as interception_services
from interception.models import InterceptionOrder
from portal.demo.interceptions import (
    _after_sale,
    _move_back,
    _parcel,
    outlet_login_contracts,
)

FIRST_NUMBER = 950000


def _photo():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 120, 90)).save(buffer, format="JPEG")
    return SimpleUploadedFile("破损照片.jpg", buffer.getvalue())


def seed(world):
    if Claim.objects.exists():
        return
    users = world["users"]
    cs, outlet_user, finance = users["cs"], users["outlet"], users["finance"]
    contract = outlet_login_contracts(world)[0]
    numbers = iter(range(FIRST_NUMBER, FIRST_NUMBER + 1000))

    def returned(loss, days_ago):
        n = next(numbers)
        after_sale = _after_sale(_parcel(contract, n, timezone.now()), n)
        order = interception_services.interception_start(after_sale_id=after_sale.pk, actor=cs)
        interception_services.interception_submit(order_id=order.pk)
        InterceptionOrder.objects.filter(pk=order.pk).update(carrier_ref=f"DEMO{order.pk:08d}")
        for result in ("succeeded", "returning", loss) if loss else ("succeeded",):
            interception_services.interception_record_result(
                order_id=order.pk, actor=None, result=result, source="callback"
            )
        _move_back(order, after_sale, timedelta(days=days_ago))
        return order

    def filed(loss="lost", days_ago=10):
        order = returned(loss, days_ago)
        kind = "loss" if loss == "lost" else "damage"
        return services.claim_file(
            actor=cs,
            interception_id=order.pk,
            kind=kind,
            description="退回途中" + ("遗失" if kind == "loss" else "破损"),
            photos=[_photo()] if kind == "damage" else (),
        )

    def negotiating(days_ago=10):
        claim = filed(days_ago=days_ago)
        return services.claim_propose(
            claim_id=claim.pk, actor=outlet_user, amount=claim.claimed_amount / 2, note="按商品价值的一半赔付"
        )

    filed("lost", days_ago=3)
    filed("damaged", days_ago=4)
    negotiating(days_ago=12)  # arbitration window open: escalate from the claim's page
    agreed = negotiating(days_ago=9)
    services.claim_accept(claim_id=agreed.pk, actor=cs, note="同意")
    paid = negotiating(days_ago=20)
    services.claim_accept(claim_id=paid.pk, actor=cs)
    services.claim_pay(
        claim_id=paid.pk,
        actor=finance,
        payment_reference="ALIPAY-2026111500123",
        paid_at=timezone.now() - timedelta(days=5),
    )
    for outcome in ("escalated", "awarded", "dismissed"):
        claim = negotiating(days_ago=15)
        services.claim_escalate(claim_id=claim.pk, actor=cs, reason="网点不同意赔付，申请平台仲裁")
        if outcome == "awarded":
            services.claim_award(claim_id=claim.pk, actor=cs, amount=claim.claimed_amount, note="平台判定全额赔付")
        if outcome == "dismissed":
            services.claim_dismiss(claim_id=claim.pk, actor=cs, reason="平台判定证据不足")
    withdrawn = filed(days_ago=6)
    services.claim_withdraw(claim_id=withdrawn.pk, actor=cs, reason="包裹已找回")
    for days_ago in (8, 11):  # candidates: succeeded, no return scan since
        returned(None, days_ago)


def summary():
    return {state: Claim.objects.filter(state=state).count() for state in Claim.State.values}
