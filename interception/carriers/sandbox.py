"""The sandbox carrier: resolves interceptions realistically, through the same signed callback path.

Each submitted interception gets a plan drawn from a random generator seeded
with its id (so every run of `tick` agrees on it): after a delay it succeeds
(rate SANDBOX_SUCCESS_RATE) or fails with a reason taken from the blocking
logistics states; a success is followed by a return scan and then the return
result (returned, or sometimes lost or damaged). `tick` sends every callback
that is due, signed with the carrier's secret, to the callback receiver.
"""
import json
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from interception.carriers import CarrierAdapter, parse_standard
from interception.models import InterceptionOrder

FAILURES = [
    ("out_for_delivery", "快件已派送，拦截失败"),
    ("signed", "快件已签收，无法拦截"),
    ("awaiting_pickup", "快件已入柜/驿站待取，拦截失败"),
    ("return_address_unserved", "退回地址不在派送范围"),
]
RETURN_OUTCOMES = [("returned", 0.9), ("lost", 0.05), ("damaged", 0.05)]


@dataclass(frozen=True)
class Plan:
    result_after: timedelta
    succeeds: bool
    failure: tuple
    return_scan_after: timedelta
    return_after: timedelta
    return_outcome: str


def plan_for(order):
    rng = random.Random(f"sandbox-{order.pk}")
    low, high = settings.SANDBOX_DELAY_SECONDS

    def delay():
        return timedelta(seconds=rng.uniform(low, high))

    result_after, succeeds, failure = delay(), rng.random() < settings.SANDBOX_SUCCESS_RATE, rng.choice(FAILURES)
    return_scan_after, return_after = delay(), delay()
    roll, outcome = rng.random(), "returned"
    for name, share in RETURN_OUTCOMES:
        if roll < share:
            outcome = name
            break
        roll -= share
    return Plan(result_after, succeeds, failure, return_scan_after, return_after, outcome)


class SandboxAdapter(CarrierAdapter):
    code = "sandbox"

    def submit(self, order):
        return f"SBX{order.pk:010d}"

    def query(self, order):
        """The interception result, once the plan has made it due; the same message its callback carries."""
        if not order.carrier_ref.startswith("SBX") or order.state != InterceptionOrder.State.INTERCEPTING:
            return None
        due = due_messages(order, timezone.now())
        return parse_standard(due[0]) if due else None


def due_messages(order, now):
    """The callback bodies this order's plan has made due by `now` and that the portal has not yet applied."""
    plan = plan_for(order)
    ref = order.carrier_ref or f"SBX{order.pk:010d}"
    if order.state == InterceptionOrder.State.INTERCEPTING and order.submitted_at and now >= order.submitted_at + plan.result_after:
        at = order.submitted_at + plan.result_after
        if plan.succeeds:
            return [_body(f"{ref}-result", "interception_result", order, at, result="succeeded")]
        code, text = plan.failure
        return [_body(f"{ref}-result", "interception_result", order, at, result="failed", reason_code=code,
                      reason_text=text)]
    if order.state == InterceptionOrder.State.SUCCEEDED and order.result_at and now >= order.result_at + plan.return_scan_after:
        at = order.result_at + plan.return_scan_after
        return [_body(f"{ref}-scan", "tracking", order, at, status="returning", text="拦截成功，快件退回中")]
    if order.state == InterceptionOrder.State.RETURNING and order.return_scan_at and now >= order.return_scan_at + plan.return_after:
        at = order.return_scan_at + plan.return_after
        return [_body(f"{ref}-return", "return_result", order, at, result=plan.return_outcome,
                      text={"returned": "已退回寄件人", "lost": "退回途中遗失", "damaged": "退回途中破损"}
                      [plan.return_outcome])]
    return []


def _body(event_id, kind, order, at, **fields):
    return json.dumps({"event_id": event_id, "type": kind, "tracking_number": order.tracking_number,
                       "occurred_at": timezone.localtime(at).isoformat(), **fields}, ensure_ascii=False).encode()
