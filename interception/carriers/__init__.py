"""Carrier integrations: one adapter per carrier, chosen by configuration (Carrier.adapter).

An adapter submits an interception, queries its result and turns the carrier's
callback body into a CarrierMessage. Every result, whether it comes from a
callback, a query or a member of staff, is applied by the same service.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from interception.models import CarrierEvent, CarrierResult, InterceptionOrder, TrackingEvent
from interception.models.parcels import REPORTED_STATUSES
from kernel import inputs
from kernel.errors import DomainError

SIGNATURE_TOLERANCE = 300  # seconds between the carrier's clock and ours


class CarrierUnavailable(Exception):
    """The carrier could not take the request now; it is retried later."""


@dataclass(frozen=True)
class CarrierMessage:
    """A carrier's event in our terms."""

    event_id: str
    kind: str  # tracking | interception_result | return_result
    tracking_number: str
    occurred_at: datetime
    status: str = ""  # tracking: a LogisticsStatus
    text: str = ""  # the carrier's raw text
    result: str = ""  # interception_result: succeeded | failed; return_result: returned | lost | damaged
    reason_code: str = ""
    reason_text: str = ""


# Which results each kind of event may carry.
RESULTS = {
    CarrierEvent.Kind.TRACKING: set(),
    CarrierEvent.Kind.INTERCEPTION_RESULT: {CarrierResult.SUCCEEDED, CarrierResult.FAILED},
    CarrierEvent.Kind.RETURN_RESULT: {CarrierResult.RETURNED, CarrierResult.LOST, CarrierResult.DAMAGED},
}


class CarrierAdapter:
    code = ""

    def submit(self, order):
        """Ask the carrier to intercept; return its reference. Raise CarrierUnavailable to retry later.

        Must be safe to call twice for one order (we pass our order id as the client reference).
        """
        raise NotImplementedError

    def query(self, order):
        """The carrier's current answer for an order as a CarrierMessage, or None while it has none."""
        return None

    def parse_callback(self, body):
        """Turn a callback body (bytes) into a CarrierMessage; raise DomainError('invalid_event') if malformed."""
        return parse_standard(body)


def parse_standard(body):
    """The portal's own callback format, which the sandbox and carriers without their own format use.

    Every text is checked against the column it is stored in and refused when it does not fit: a tracking
    number cut to the column's length would match another parcel, an event id cut would collide with another.
    """
    data = inputs.parse_json(body, code="invalid_event")
    if not isinstance(data, dict):
        raise _invalid(_("The body is not a JSON object."))
    missing = [k for k in ("event_id", "type", "tracking_number", "occurred_at") if data.get(k) in (None, "")]
    if missing:
        raise _invalid(_("Missing fields: %(f)s.") % {"f": ", ".join(missing)}, missing)
    if isinstance(data["event_id"], int) and not isinstance(data["event_id"], bool):
        data["event_id"] = str(data["event_id"])  # some carriers number their events
    if isinstance(data["tracking_number"], str):  # as parcels store it; upper() can lengthen a text
        data["tracking_number"] = data["tracking_number"].strip().upper()
    columns = {
        "event_id": CarrierEvent._meta.get_field("event_id"),
        "tracking_number": CarrierEvent._meta.get_field("tracking_number"),
        "type": None,
        "status": None,
        "result": None,
        "text": TrackingEvent._meta.get_field("raw_text"),
        "reason_code": InterceptionOrder._meta.get_field("failure_code"),
        "reason_text": InterceptionOrder._meta.get_field("failure_text"),
    }
    problems = []
    for name, column in columns.items():
        problems += inputs.text_problems(data.get(name), name, column=column, max_length=None if column else 64)
    occurred_at, time_problems = inputs.aware_datetime(data["occurred_at"], "occurred_at")
    problems += time_problems
    if problems:
        raise _invalid(problems[0].message, problems=problems)
    kind = data["type"]
    if kind not in RESULTS:
        raise _invalid(_("Unknown event type %(t)s.") % {"t": kind}, ["type"])
    message = CarrierMessage(
        event_id=data["event_id"],
        kind=kind,
        tracking_number=data["tracking_number"],
        occurred_at=occurred_at,
        status=data.get("status") or "",
        text=data.get("text") or "",
        result=data.get("result") or "",
        reason_code=data.get("reason_code") or "",
        reason_text=data.get("reason_text") or "",
    )
    if kind == "tracking":
        if message.status not in REPORTED_STATUSES:
            raise _invalid(_("Unknown logistics status %(s)s.") % {"s": message.status}, ["status"])
    elif message.result not in RESULTS[kind]:
        raise _invalid(_("Unknown result %(r)s for %(t)s.") % {"r": message.result, "t": kind}, ["result"])
    return message


def _invalid(message, fields=(), *, problems=()):
    errors = [p.as_dict() for p in problems] or [
        {"code": "invalid", "field": f, "message": str(message)} for f in fields
    ]
    return DomainError("invalid_event", message, errors=errors, status=400)


def sign(secret, body, t):
    """The X-Signature header value for `body` sent at unix time `t`."""
    mac = hmac.new(secret.encode(), f"{int(t)}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={int(t)},v1={mac}"


def verify(secret, header, body, now):
    """Refuse (401) a callback whose signature is missing, wrong or more than 300 s off our clock."""
    parts = dict(p.strip().split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        raise DomainError("bad_signature", _("The X-Signature header is missing or malformed."), status=401) from None
    if not secret:
        raise DomainError("bad_signature", _("This carrier has no callback secret configured."), status=401)
    expected = sign(secret, body, t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise DomainError("bad_signature", _("The signature does not match the body."), status=401)
    if abs(now.timestamp() - t) > SIGNATURE_TOLERANCE:
        raise DomainError("stale_signature", _("The signature's time is more than 300 seconds from ours."), status=401)


def adapter_for(carrier):
    from interception.carriers.sandbox import SandboxAdapter

    registry = {"sandbox": SandboxAdapter, **ADAPTERS}
    name = carrier.adapter or settings.CARRIER_ADAPTER
    try:
        return registry[name]()
    except KeyError:
        raise CarrierUnavailable(f"no carrier adapter named {name!r}") from None


# Real carriers' adapters register here by name: ADAPTERS["yto-open"] = YtoAdapter.
ADAPTERS = {}
