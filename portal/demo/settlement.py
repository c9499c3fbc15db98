"""Demo statements in every state and one reconciliation with a difference of every class. Idempotent.

Interceptions are made through the services now and moved back into the months they settle.
"""

from datetime import datetime, time, timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from interception import services as interception_services
from interception.models import InterceptionOrder
from portal.demo.interceptions import (
    _after_sale,
    _move_back,
    _parcel,
    outlet_login_contracts,
)
from settlement import services
from settlement.models import OnlineFee, Statement

FIRST_NUMBER = 900000  # parcel numbers of this module, apart from the interception demo's


def seed(world):
    if Statement.objects.exists():
        return
    users = world["users"]
    finance, cs, outlet_user = users["finance"], users["cs"], users["outlet"]
    pairs = outlet_login_contracts(world)
    by_outlet = {}
    for contract in pairs:
        by_outlet.setdefault(contract.outlet_id, contract)
    first, second = (list(by_outlet.values()) * 2)[:2]
    counter = iter(range(FIRST_NUMBER, FIRST_NUMBER + 10000))
    today = timezone.localdate()

    def month(offset):
        start = today.replace(day=1)
        for _ in range(offset):
            start = (start - timedelta(days=1)).replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return start, end

    def statement(contract, offset, results=("succeeded",) * 3):
        start, end = month(offset)
        for index, result in enumerate(results):
            _intercepted(contract, next(counter), cs, result, min(start + timedelta(days=2 + 3 * index), today))
        return services.statement_generate(
            actor=finance,
            merchant=contract.merchant,
            outlet=contract.outlet,
            period_start=start,
            period_end=min(end, today),
        ).statement

    def issue(s):
        return services.statement_issue(statement_id=s.pk, actor=finance)

    settled = issue(statement(first, 4))
    services.statement_confirm(statement_id=settled.pk, actor=outlet_user)
    services.statement_settle(
        statement_id=settled.pk,
        actor=finance,
        payment_reference="ICBC-20260815-0042",
        paid_at=timezone.now() - timedelta(days=80),
        paid_amount=settled.total,
    )
    confirmed = issue(statement(first, 3))
    services.statement_confirm(statement_id=confirmed.pk, actor=outlet_user)
    revised = issue(statement(first, 2))
    services.statement_dispute(statement_id=revised.pk, actor=outlet_user, reason="第二单我方只收 4.00 元")
    services.statement_revise(
        statement_id=revised.pk,
        actor=finance,
        reason="按网点意见调整",
        adjustments=[
            {
                "tracking_number": revised.lines.order_by("id")[1].tracking_number,
                "amount": "-1.00",
                "reason": "协商后该单按 4.00 元计",
            }
        ],
    )
    disputed = issue(statement(second, 1))
    services.statement_dispute(statement_id=disputed.pk, actor=outlet_user, reason="有一单拦截失败不应计费")
    void = statement(second, 2)
    services.statement_void(statement_id=void.pk, actor=finance, reason="期间选错，重新生成")
    issued = issue(statement(first, 1, results=("succeeded",) * 4 + ("failed",)))
    _reconcile(issued, finance)
    statement(first, 0)  # this month so far: a draft
    _online_fee_months()


def _intercepted(contract, n, cs, result, day):
    parcel = _parcel(contract, n, timezone.now())
    after_sale = _after_sale(parcel, n)
    order = interception_services.interception_start(after_sale_id=after_sale.pk, actor=cs)
    interception_services.interception_submit(order_id=order.pk)
    InterceptionOrder.objects.filter(pk=order.pk).update(carrier_ref=f"DEMO{order.pk:08d}")
    interception_services.interception_record_result(
        order_id=order.pk,
        actor=None,
        result=result,
        source="callback",
        reason_code="out_for_delivery" if result == "failed" else "",
        reason_text="快件已派送，拦截失败" if result == "failed" else "",
    )
    if result == "succeeded":  # back with the sender: no claim candidate
        for leg in ("returning", "returned"):
            interception_services.interception_record_result(
                order_id=order.pk, actor=None, result=leg, source="callback"
            )
    order.refresh_from_db()
    when = min(
        datetime.combine(day, time(15, 0), tzinfo=timezone.get_default_timezone()), timezone.now() - timedelta(hours=1)
    )
    _move_back(order, after_sale, order.result_at - when)


def _reconcile(statement, finance):
    """The outlet's bill: one line matched, one fee different, one billed twice, one we never had, one failed
    interception billed, one of ours missing."""
    lines = list(statement.lines.order_by("id").values_list("tracking_number", "amount", "occurred_at"))
    failed = (
        InterceptionOrder.objects.filter(
            merchant=statement.merchant, outlet=statement.outlet, state=InterceptionOrder.State.FAILED
        )
        .order_by("-id")
        .first()
    )

    def row(tracking, amount, at):
        return f"{tracking},{timezone.localtime(at):%Y-%m-%d},{amount}"

    (a, fee_a, at_a), (b, fee_b, at_b), (c, fee_c, at_c) = lines[:3]
    rows = [
        row(a, fee_a, at_a),
        row(b, fee_b + 1, at_b),
        row(b, fee_b + 1, at_b),
        row(c, fee_c, at_c),
        row("ZTO9900000001", fee_a, at_a),
    ]
    if failed is not None:
        rows.append(row(failed.tracking_number, fee_a, failed.result_at))
    content = ("tracking_number,date,fee\n" + "\n".join(rows) + "\n").encode()
    services.reconciliation_run(
        statement_id=statement.pk, actor=finance, uploaded=ContentFile(content, name="网点账单.csv")
    )


def _online_fee_months():
    """The interception demo moved results back in time; the ledger's months follow them."""
    for entry in OnlineFee.objects.select_related("interception"):
        month = timezone.localtime(entry.interception.result_at).date().replace(day=1)
        if entry.month != month:
            OnlineFee.objects.filter(pk=entry.pk).update(month=month)


def summary():
    return {state: Statement.objects.filter(state=state).count() for state in Statement.State.values}
