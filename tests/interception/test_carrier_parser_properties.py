"""The carrier callback parser (parse_standard) on whatever a caller can send: hypothesis draws the bodies.

Any bytes, any JSON value (nested, huge numbers, strings with any code point, NUL and lone surrogates
included), event-shaped objects whose fields hold any of those, and JSON nested thousands of levels
deep: the parser returns a CarrierMessage whose every field fits the column it is stored in, or refuses
with DomainError `invalid_event` (400). Anything else would be a 500 for the carrier.
"""

import json
import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from interception.carriers import CarrierMessage, parse_standard
from interception.models import CarrierEvent, InterceptionOrder, TrackingEvent
from interception.models.parcels import REPORTED_STATUSES
from kernel.errors import DomainError

# Where each text field of a message is stored.
COLUMNS = {
    "event_id": CarrierEvent._meta.get_field("event_id"),
    "tracking_number": CarrierEvent._meta.get_field("tracking_number"),
    "text": TrackingEvent._meta.get_field("raw_text"),
    "reason_code": InterceptionOrder._meta.get_field("failure_code"),
    "reason_text": InterceptionOrder._meta.get_field("failure_text"),
}
# A fixed seed in `make test`; `make fuzz` passes a random one and more examples.
SEED = int(os.environ.get("PORTAL_FUZZ_SEED", "20261123"))
EXAMPLES = settings(
    max_examples=10 * int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Every code point, lone surrogates included (hypothesis leaves them out by default), short and long.
characters = st.characters(exclude_categories=())
any_text = st.text(characters) | st.text(characters, min_size=30, max_size=600)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children) | st.dictionaries(any_text, children),
    max_leaves=20,
)
offsets = st.integers(min_value=-24 * 60 + 1, max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
time_shaped = st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?([+-]\d\d(:?\d\d)?|Z)", fullmatch=True)
RESULTS = {
    "tracking": [],
    "interception_result": ["succeeded", "failed"],
    "return_result": ["returned", "lost", "damaged"],
}


def mostly(likely, other):
    """`likely` four times in five, `other` otherwise: a field of an event that is otherwise well-formed."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda i: other if i == 0 else likely)


@st.composite
def events(draw):
    """Objects shaped like callbacks, most fields well-formed, any of them possibly anything at all."""
    kind = draw(mostly(st.sampled_from(sorted(RESULTS)), json_values))
    event = {
        "event_id": draw(mostly(any_text, json_values)),
        "type": kind,
        "tracking_number": draw(mostly(any_text | st.sampled_from(["JT0001", " jt0001 ", "ß" * 40]), json_values)),
        "occurred_at": draw(
            mostly(
                st.datetimes(timezones=offsets).map(datetime.isoformat),
                # no offset; shaped like a time, but month 13, hour 25 or offset +99:99; anything
                st.datetimes().map(datetime.isoformat) | time_shaped | json_values,
            )
        ),
    }
    if kind == "tracking" or draw(st.booleans()):
        event["status"] = draw(mostly(st.sampled_from(REPORTED_STATUSES), json_values))
    results = RESULTS.get(kind, []) if isinstance(kind, str) else []
    if results or draw(st.booleans()):
        event["result"] = draw(mostly(st.sampled_from(results or ["failed"]), json_values))
    for name in ("text", "reason_code", "reason_text"):
        if draw(st.booleans()):
            event[name] = draw(mostly(any_text, json_values))
    return event


def encodings(value):
    """The JSON text as a carrier could send it: escaped to ASCII, or raw UTF-8 (lone surrogates as they are)."""
    return st.sampled_from(
        [json.dumps(value).encode(), json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")]
    )


def sent_as(value):
    return st.tuples(st.just(value), encodings(value))


def parsed_or_refused(body, sent=None):
    """The parser's answer, checked: a message that fits the database, or None for a 400 invalid_event.

    With the object `sent`, a text field sent as a string comes back as it was (the tracking number
    stripped and upper-cased, as parcels store it): too long is refused, never cut.
    """
    try:
        message = parse_standard(body)
    except DomainError as refused:
        # ascii(): a report must not carry a lone surrogate (pytest-xdist cannot send one between processes).
        assert (refused.code, refused.status) == ("invalid_event", 400), ascii(refused.as_dict())
        return None
    assert isinstance(message, CarrierMessage), ascii(message)
    # Each check on its own line, so that hypothesis reports each kind of failure; on booleans, so that pytest's
    # report shows no drawn text.
    for name, column in COLUMNS.items():
        value = getattr(message, name)
        assert isinstance(value, str), f"{name} is a {type(value).__name__}"
        # Tracking numbers are stored upper-cased, and some letters grow (ß is SS).
        stored = len(value.upper() if name == "tracking_number" else value)
        fits = stored <= column.max_length
        assert fits, f"{name}: {stored} characters stored, the column holds {column.max_length}"
        no_nul = "\x00" not in value
        assert no_nul, f"{name} holds a NUL, which PostgreSQL text cannot"
        utf8 = value.encode("utf-8", "replace").decode() == value
        assert utf8, f"{name} holds a lone surrogate, which UTF-8 (and PostgreSQL) cannot"
    for name, value in (sent or {}).items():
        if name in COLUMNS and isinstance(value, str):
            got = getattr(message, name)
            uncut = got == (value.strip().upper() if name == "tracking_number" else value)
            assert uncut, f"{name} came back as {len(got)} characters, not as the {len(value)} sent: refuse, never cut"
    offset = message.occurred_at.utcoffset()
    takes = offset is not None and abs(offset) < timedelta(hours=16)
    assert takes, f"occurred_at's offset {offset} is not one PostgreSQL takes (up to 15:59)"
    return message


@seed(SEED)
@EXAMPLES
@given(st.binary())
def test_any_bytes_are_a_message_or_invalid_event(body):
    parsed_or_refused(body)


@seed(SEED)
@EXAMPLES
@given(json_values.flatmap(encodings))
def test_any_json_value_is_a_message_or_invalid_event(body):
    parsed_or_refused(body)


def sent(**fields):
    event = {
        "event_id": "E1",
        "type": "tracking",
        "tracking_number": "JT0001",
        "status": "in_transit",
        "occurred_at": "2026-11-23T10:00:00+08:00",
        **fields,
    }
    return event, json.dumps(event).encode()


@seed(SEED)
@EXAMPLES
@given(events().flatmap(sent_as))
# What a carrier's system gets wrong sometimes, whatever hypothesis happens to draw:
@example(sent(event_id="E" * 101))  # longer than its column
@example(sent(tracking_number="ß" * 40))  # 40 letters, 80 once upper-cased
@example(sent(text="到达\x00杭州"))  # NUL
@example(sent(text="\ud800"))  # a lone surrogate
@example(sent(type=["tracking"]))  # not a string
@example(sent(occurred_at="2026-11-23T10:00:00+16:00"))  # beyond PostgreSQL's offsets
@example(sent(occurred_at="2026-13-45T10:00:00+08:00"))  # shaped like a time, but not one
@example(sent(occurred_at="2026-11-23T10:00:00+99:99"))
def test_event_shaped_objects_with_any_field_values_are_a_message_or_invalid_event(sent_and_body):
    sent, body = sent_and_body
    parsed_or_refused(body, sent)


@seed(SEED)
@settings(max_examples=30, deadline=None, database=None)
@given(
    st.integers(min_value=1, max_value=100_000), st.sampled_from(["[", '{"a":']), st.sampled_from(["", '{"event_id": '])
)
def test_json_nested_thousands_of_levels_deep_is_invalid_event(depth, opener, prefix):
    closer = {"[": "]", '{"a":': "}"}[opener]
    body = (prefix + opener * depth + "1" + closer * depth + ("}" if prefix else "")).encode()
    assert parsed_or_refused(body) is None


def test_a_well_formed_event_is_parsed():
    """The properties above hold for messages too, not only for refusals: the parser does accept a good event."""
    message = parsed_or_refused(
        json.dumps(
            {
                "event_id": "E1",
                "type": "tracking",
                "tracking_number": " jt0001 ",
                "status": "in_transit",
                "occurred_at": "2026-11-23T10:00:00+08:00",
                "text": "到达杭州转运中心",
            }
        ).encode()
    )
    assert (message.event_id, message.tracking_number, message.status) == ("E1", "JT0001", "in_transit")
