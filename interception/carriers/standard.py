"""The portal's own callback format: one JSON event per request, signed with HMAC-SHA256 (X-Signature).

The sandbox speaks it, and so may any carrier that calls us directly (the "standard" adapter).
"""

import hmac
import json
from functools import cache

from django.utils.translation import gettext_lazy as _

from interception.carriers.base import RESULTS, Answer, Capabilities, CarrierAdapter, CarrierMessage, CredentialField
from interception.models import CarrierEvent, InterceptionMode, InterceptionOrder, TrackingEvent
from interception.models.parcels import REPORTED_STATUSES
from kernel import inputs
from kernel.errors import DomainError
from kernel.signing import sign

SIGNATURE_TOLERANCE = 300  # seconds between the carrier's clock and ours


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
    problems = []
    for name, column in _columns().items():
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
        place=data.get("place") or "",
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


@cache
def _columns():
    """Each text of the format and the column it is stored in (None: a code, at most 64 characters)."""
    return {
        "event_id": CarrierEvent._meta.get_field("event_id"),
        "tracking_number": CarrierEvent._meta.get_field("tracking_number"),
        "type": None,
        "status": None,
        "result": None,
        "text": TrackingEvent._meta.get_field("raw_text"),
        "place": TrackingEvent._meta.get_field("place"),
        "reason_code": InterceptionOrder._meta.get_field("failure_code"),
        "reason_text": InterceptionOrder._meta.get_field("failure_text"),
    }


def _invalid(message, fields=(), *, problems=()):
    errors = [p.as_dict() for p in problems] or [
        {"code": "invalid", "field": f, "message": str(message)} for f in fields
    ]
    return DomainError("invalid_event", message, errors=errors, status=400)


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


CALLBACK_SECRET = CredentialField(
    "callback_secret", _("callback secret"), help_text=_("Shared secret that signs the carrier's callbacks.")
)


class StandardFormat(CarrierAdapter):
    """Callbacks in our own format; answers are our receipts and our error shape."""

    carrier_fields = (CALLBACK_SECRET,)

    def read_callback(self, carrier, incoming, now):
        verify(carrier.callback_secret, incoming.headers.get("X-Signature", ""), incoming.body, now)
        return [parse_standard(incoming.body)]

    def answer(self, receipts):
        (receipt,) = receipts
        return Answer(receipt.status, json.dumps(receipt.body, ensure_ascii=False).encode())

    def refusal(self, error):
        return Answer(error.status, json.dumps(error.as_dict(), ensure_ascii=False).encode())


class StandardAdapter(StandardFormat):
    """A carrier whose own system speaks our API: it reads the interceptions asked of it (GET
    /api/v1/interceptions/ and the scan-time lookup, scoped to its carrier) and posts results in our format."""

    code = "standard"
    label = _("our own callback format")
    capabilities = Capabilities(modes=frozenset(InterceptionMode.values))

    def submit(self, order, client):
        return f"API{order.pk:010d}"  # nothing to send: the order is now listed for the carrier's system
