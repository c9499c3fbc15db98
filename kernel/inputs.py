"""Checks of what comes from outside (API bodies, callbacks, query strings, files, forms) before it is stored.

PostgreSQL refuses NUL characters and a varchar longer than its column, psycopg cannot encode a lone
surrogate, and neither Python nor PostgreSQL takes every date the ISO 8601 grammar allows: each of these
would be a 500 deep inside a write. They are refused here, at the edge, naming the field; nothing is ever
shortened to fit.
"""

import json
import re
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from kernel.errors import DomainError, Problem

# Deeper than any body we accept needs; json's own recursion gives out in the thousands.
MAX_JSON_DEPTH = 32
# No time zone is further from UTC (Kiribati, +14:00); PostgreSQL refuses offsets from ±16:00.
MAX_UTC_OFFSET = timedelta(hours=14)


_ID = re.compile(r"[0-9]{1,18}")


def is_id(value):
    """A row id as outside input writes it: ASCII digits that fit a bigint ("²" passes str.isdigit())."""
    return isinstance(value, (str, int)) and not isinstance(value, bool) and _ID.fullmatch(str(value)) is not None


def bad_character(text):
    """The first character of `text` that no column can store (NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "\x00"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def _character_problem(field, char):
    return Problem(
        "invalid_character",
        _("%(f)s contains a character that cannot be stored (U+%(c)04X).") % {"f": field, "c": ord(char)},
        field,
    )


def text_problems(value, field, *, max_length=None, column=None, required=False):
    """Why `value` (outside text for `field`) cannot be stored as it is: never shortened, refused.

    `column` is the model field it goes to (its max_length applies), or give `max_length`.
    """
    if value is None or value == "":
        return [Problem("required", _("%(f)s is required.") % {"f": field}, field)] if required else []
    if not isinstance(value, str):
        return [Problem("not_text", _("%(f)s must be text.") % {"f": field}, field)]
    if (char := bad_character(value)) is not None:
        return [_character_problem(field, char)]
    limit = max_length if max_length is not None else getattr(column, "max_length", None)
    if limit is not None and len(value) > limit:
        return [
            Problem(
                "too_long",
                _("%(f)s is longer than %(n)s characters (%(l)s).") % {"f": field, "n": limit, "l": len(value)},
                field,
            )
        ]
    if required and not value.strip():
        return [Problem("required", _("%(f)s is required.") % {"f": field}, field)]
    return []


def columns_problems(model, **values):
    """text_problems for each of a model's text fields, by field name (the name is the field reported)."""
    problems = []
    for name, value in values.items():
        problems += text_problems(value, name, column=model._meta.get_field(name))
    return problems


def parse_json(raw, *, code="invalid_json"):
    """A JSON document from outside, or a refusal (400 `code`) naming what is wrong and where.

    Beyond the grammar: at most MAX_JSON_DEPTH levels, and no string (key or value) a column could not hold.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise _refuse_json(
            code, Problem("too_deep", _("The JSON is nested more than %(n)s levels deep.") % {"n": MAX_JSON_DEPTH})
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse_json(
            code, Problem("invalid_json", _("The body is not valid JSON (%(e)s).") % {"e": exc.__class__.__name__})
        ) from None
    if _may_have_problem(text) and (problem := json_problem(value)) is not None:
        raise _refuse_json(code, problem)
    return value


# The only way a parsed JSON string can hold a NUL or a lone surrogate when the text itself holds neither: an
# escape (a false alarm, an escaped backslash before "u0000", only costs the full walk).
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _may_have_problem(text):
    """Whether json_problem could find anything in the value parsed from `text`; False spares walking every
    string of a clean body (a callback's) in Python. Fewer than MAX_JSON_DEPTH brackets cannot nest too deep."""
    return (
        text.count("{") + text.count("[") >= MAX_JSON_DEPTH
        or bad_character(text) is not None
        or _BAD_ESCAPE.search(text) is not None
    )


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _refuse_json(code, problem):
    return DomainError(code, problem.message, errors=[problem.as_dict()], status=400)


def json_problem(value):
    """The first problem of a parsed JSON value (too deep, an unstorable character), with its path; or None."""
    stack = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return Problem(
                "too_deep", _("The JSON is nested more than %(n)s levels deep.") % {"n": MAX_JSON_DEPTH}, path or None
            )
        if isinstance(node, str):
            if (char := bad_character(node)) is not None:
                return _character_problem(path or "body", char)
        elif isinstance(node, dict):
            for key, item in node.items():
                child = f"{path}.{key}" if path else str(key)
                if (char := bad_character(key)) is not None:
                    return _character_problem(child, char)
                stack.append((item, child, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(node))
    return None


def _datetime_problem(field):
    # Built only for a refusal: translating the message costs a callback more than parsing its time.
    return Problem(
        "datetime_invalid",
        _("%(f)s must be an ISO 8601 time with its offset, e.g. 2026-11-23T10:00:00+08:00.") % {"f": field},
        field,
    )


def aware_datetime(value, field):
    """An ISO 8601 time with its offset, as outside systems send it: (datetime, []) or (None, problems)."""
    if not isinstance(value, str) or bad_character(value) is not None:
        return None, [_datetime_problem(field)]
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:  # well formed, but no such day or hour
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        return None, [_datetime_problem(field)]
    if abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
        return None, [
            Problem(
                "offset_invalid",
                _("%(f)s has a UTC offset beyond ±14:00, which no time zone has.") % {"f": field},
                field,
            )
        ]
    return parsed, []


def future_problems(at, field, *, now, tolerance):
    """A time from another system's clock more than `tolerance` ahead of ours."""
    if at > now + tolerance:
        return [
            Problem(
                "occurred_in_future",
                _("%(f)s is %(t)s, more than %(m)s minutes ahead of our clock.")
                % {"f": field, "t": timezone.localtime(at).isoformat(), "m": int(tolerance.total_seconds() // 60)},
                field,
            )
        ]
    return []
