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
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception.carriers.base import Capabilities
from interception.carriers.standard import StandardFormat, parse_standard
from interception.models import CarrierEvent, CarrierResult, InterceptionMode, LogisticsStatus

FAILURES = [
    ("out_for_delivery", "快件已派送，拦截失败"),
    ("signed", "快件已签收，无法拦截"),
    ("awaiting_pickup", "快件已入柜/驿站待取，拦截失败"),
    ("return_address_unserved", "退回地址不在派送范围"),
]
RETURN_OUTCOMES = [(CarrierResult.RETURNED, 0.9), (CarrierResult.LOST, 0.05), (CarrierResult.DAMAGED, 0.05)]
RETURN_TEXTS = {
    CarrierResult.RETURNED: "已退回寄件人",
    CarrierResult.LOST: "退回途中遗失",
    CarrierResult.DAMAGED: "退回途中破损",
}


@dataclass(frozen=True)
class Plan:
    result_after: timedelta
    succeeds: bool
    failure: tuple
    return_scan_after: timedelta
    return_after: timedelta
    return_outcome: str


def plan_for(order):
    rng = random.Random(f"sandbox-{order.pk}")  # noqa: S311 - a simulation, reproducible per order
    low, high = settings.SANDBOX_DELAY_SECONDS

    def delay():
        return timedelta(seconds=rng.uniform(low, high))

    result_after, succeeds, failure = delay(), rng.random() < settings.SANDBOX_SUCCESS_RATE, rng.choice(FAILURES)
    return_scan_after, return_after = delay(), delay()
    roll, outcome = rng.random(), CarrierResult.RETURNED
    for name, share in RETURN_OUTCOMES:
        if roll < share:
            outcome = name
            break
        roll -= share
    return Plan(result_after, succeeds, failure, return_scan_after, return_after, outcome)


class SandboxAdapter(StandardFormat):
    code = "sandbox"
    label = _("sandbox (demo and tests)")
    capabilities = Capabilities(modes=frozenset(InterceptionMode.values), query=True)

    def submit(self, order, client):
        return f"SBX{order.pk:010d}"

    def query(self, order, client):
        """The interception result, once the plan has made it due; the same message its callback carries."""
        if not order.carrier_ref.startswith("SBX") or not _awaits_result(order):
            return None
        due = due_messages(order, timezone.now())
        return parse_standard(due[0]) if due else None


def _awaits_result(order):
    """Submitted to us and not yet answered (the machine says whether a result can still come)."""
    return bool(order.submitted_at) and can_proceed(order.succeed)


def due_messages(order, now):
    """The callback bodies this order's plan has made due by `now` and that the portal has not yet applied.

    What the carrier sends next follows what the order can take next: its result, then the return scan, then
    the return's result.
    """
    plan = plan_for(order)
    ref = order.carrier_ref or f"SBX{order.pk:010d}"
    Kind = CarrierEvent.Kind
    if _awaits_result(order) and now >= order.submitted_at + plan.result_after:
        at = order.submitted_at + plan.result_after
        if plan.succeeds:
            return [_body(f"{ref}-result", Kind.INTERCEPTION_RESULT, order, at, result=CarrierResult.SUCCEEDED)]
        code, text = plan.failure
        return [
            _body(
                f"{ref}-result",
                Kind.INTERCEPTION_RESULT,
                order,
                at,
                result=CarrierResult.FAILED,
                reason_code=code,
                reason_text=text,
            )
        ]
    if can_proceed(order.start_return) and order.result_at and now >= order.result_at + plan.return_scan_after:
        at = order.result_at + plan.return_scan_after
        return [
            _body(
                f"{ref}-scan", Kind.TRACKING, order, at, status=LogisticsStatus.RETURNING, text="拦截成功，快件退回中"
            )
        ]
    if can_proceed(order.return_done) and order.return_scan_at and now >= order.return_scan_at + plan.return_after:
        at = order.return_scan_at + plan.return_after
        return [
            _body(
                f"{ref}-return",
                Kind.RETURN_RESULT,
                order,
                at,
                result=plan.return_outcome,
                text=RETURN_TEXTS[plan.return_outcome],
            )
        ]
    return []


def _body(event_id, kind, order, at, **fields):
    return json.dumps(
        {
            "event_id": event_id,
            "type": kind,
            "tracking_number": order.tracking_number,
            "occurred_at": timezone.localtime(at).isoformat(),
            **fields,
        },
        ensure_ascii=False,
    ).encode()
