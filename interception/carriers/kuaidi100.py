"""快递100 (kuaidi100): interceptions of ZTO, YTO, STO and J&T parcels, and their tracking, through one account.

- Intercept: `POST {KUAIDI100_API_URL}/label/order`, form `method=interceptOrder, key, t, param, sign` with
  `sign = UPPER(MD5(param + t + key + secret))` over the exact `param` text sent. The outlet's e-waybill account
  (partnerId ...) rides in `param`; the result comes back by push to the carrier's events URL.
- Tracking: `POST {KUAIDI100_POLL_URL}/poll`, form `schema=json, param` (company, number, key, parameters
  {callbackurl, salt, resultv2=4}); kuaidi100 then pushes the whole trail, newest first, at every change.
- Pushes (tracking and intercept results alike) are forms `param` (JSON) and `sign = UPPER(MD5(param + salt))`,
  answered `{"result": true, "returnCode": "200", "message": "成功"}`; anything else makes kuaidi100 retry.

Sources: api.kuaidi100.com/document/dianzimiandanlanjiejiekouwendang; kuaidi100-api/python-demo
code/interceptOrder.py and code/subscribe.py; kuaidi100-api/java-demo SignUtils.java and SubscribePush*.java.

UNCONFIRMED (docs/carriers/kuaidi100.md lists the same; change them here):
- the intercept result push: no public document shows its body. We assume the push convention above, and read
  it in `read_intercept_result` only (INTERCEPT_* below: which fields, which status words);
- the intercept answer's fields beyond `code`/`message` (the reference we keep: `data.taskId`, else ours);
- which e-waybill account fields each carrier needs (kuaidi100's parameter dictionary): partnerId and
  partnerKey are asked for, the rest are optional;
- whether kuaidi100 wants HTTP 200 with `result: false` for a refused push (we answer so) or an HTTP error;
- the sign's case: kuaidi100's demos upper-case every MD5 they send; we compare pushes without regard to case.
"""

import hashlib
import hmac
import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.carriers.base import (
    Answer,
    Capabilities,
    CarrierAdapter,
    CarrierMessage,
    CarrierRefused,
    CarrierUnavailable,
    CredentialField,
    TrackingNotice,
    callback_url,
)
from interception.models import (
    CarrierCall,
    CarrierEvent,
    CarrierResult,
    InterceptionMode,
    InterceptionOrder,
    LogisticsStatus,
    Subscription,
    TrackingEvent,
)
from kernel import inputs
from kernel.errors import DomainError, Problem

INTERCEPT_PATH = "/label/order"
POLL_PATH = "/poll"
# kuaidi100 sends an aborted parcel's subscription away; its documentation says to subscribe again 30 minutes on.
RESUBSCRIBE_AFTER_ABORT = timedelta(minutes=30)
# kuaidi100 takes at most 4 subscriptions of one number a month; we count them over the last 30 days.
SUBSCRIPTIONS_PER_MONTH = 4
SUBSCRIPTION_MONTH = timedelta(days=30)
# A refusal's text on the interception's timeline (the full answer is in the call log).
MESSAGE_LIMIT = 400

INTERCEPT_TYPES = {
    InterceptionMode.RETURN_TO_SENDER: "RETURN_SEND_ADDR",
    InterceptionMode.RETURN_TO_OUTLET: "RETURN_SEND_STATION",
    InterceptionMode.REROUTE: "MODIFY_ADDR",
}
# orderRole: the merchant, who shipped the parcel, asks (1 sender, 2 recipient, 3 third party).
ORDER_ROLE = "1"
PAY_TYPES = ("SHIPPER", "CONSIGNEE", "THIRDPARTY", "MONTHLY")

RETRY = "retry"
# kuaidi100's answer codes, per operation: RETRY is asked again later with backoff (CarrierUnavailable); any other
# entry ends the attempt (CarrierRefused) with our code and kuaidi100's message; a code not listed ends it too
# ("refused"). 200 (and 501 for a subscription) is success.
INTERCEPT_ERRORS = {
    "101": ("bad_format", _("kuaidi100 could not read the request (101).")),
    "102": ("bad_signature", _("kuaidi100 says the signature is wrong (102).")),
    "103": ("missing_parameter", _("kuaidi100 says a parameter is missing (103).")),
    "104": ("bad_parameter", _("kuaidi100 says a parameter is wrong, or the parcel cannot be intercepted (104).")),
    "401": ("key_expired", _("The kuaidi100 key has expired (401).")),
    "402": ("unknown_customer", _("kuaidi100 does not know this customer (402).")),
    "500": (RETRY, _("kuaidi100 is busy (500).")),
}
SUBSCRIBE_ERRORS = {
    "500": (RETRY, _("kuaidi100 had a server error (500).")),
    "600": ("bad_key", _("kuaidi100 does not know the key (600).")),
    "601": ("key_expired", _("The kuaidi100 key has expired (601).")),
    "700": ("bad_parameter", _("kuaidi100 refused the data or the callback address (700).")),
    "701": ("carrier_refused", _("The carrier does not take subscriptions for this number (701).")),
    "702": ("carrier_unknown", _("kuaidi100 does not recognise the carrier code (702).")),
}
SUBSCRIBED_CODES = {"200", "501"}  # 501: subscribed already

# kuaidi100's `state` and, with resultv2=4, the entries' sub-codes, to our logistics statuses.
S = LogisticsStatus
TRACKING_STATES = {
    "0": S.IN_TRANSIT,  # 在途
    "1001": S.IN_TRANSIT,  # arrived in the delivery city
    "1002": S.IN_TRANSIT,  # trunk line
    "1003": S.IN_TRANSIT,  # forwarded
    "1": S.PICKED_UP,  # 揽收
    "101": S.PICKED_UP,  # ordered: a parcel registered here has shipped (we have no "ordered" status)
    "102": S.PICKED_UP,  # awaiting the courier's pickup, likewise
    "103": S.PICKED_UP,  # picked up
    "2": S.PROBLEM,  # 疑难 (and every 2xx sub-code)
    "3": S.SIGNED,  # 签收
    "301": S.SIGNED,  # by the recipient
    "302": S.SIGNED,  # after a delivery problem
    "303": S.SIGNED,  # by a proxy
    "304": S.SIGNED,  # at a locker or station
    "4": S.RETURNED,  # 退签: returned and signed by the sender
    "401": S.PROBLEM,  # waybill cancelled: neither returned nor moving
    "5": S.OUT_FOR_DELIVERY,  # 派件
    "501": S.AWAITING_PICKUP,  # in a locker or station
    "6": S.RETURNING,  # 退回
    "7": S.IN_TRANSIT,  # 转投: forwarded to another outlet
    "8": S.IN_TRANSIT,  # customs (8, 10-13): still on its way
    "10": S.IN_TRANSIT,
    "11": S.IN_TRANSIT,
    "12": S.IN_TRANSIT,
    "13": S.IN_TRANSIT,
    "14": S.PROBLEM,  # 拒签: refused by the recipient; returning comes as its own event
}
# An entry without a sub-code names its state in words.
STATE_WORDS = {
    "在途": "0",
    "揽收": "1",
    "疑难": "2",
    "签收": "3",
    "退签": "4",
    "派件": "5",
    "退回": "6",
    "转投": "7",
    "清关": "8",
    "待清关": "10",
    "清关中": "11",
    "已清关": "12",
    "清关异常": "13",
    "拒签": "14",
}
PUSH_STATUSES = {"polling", "shutdown", "abort", "updateall"}

# UNCONFIRMED: the intercept result push (see the module's docstring). Its param is read as
# {"kuaidicom", "kuaidinum", "orderId" (ours), "status", "message", "time"}.
INTERCEPT_STATUS_FIELD = "status"
INTERCEPT_SUCCEEDED = {"SUCCESS", "SUCCEEDED", "1", "TRUE"}
INTERCEPT_FAILED = {"FAIL", "FAILED", "FAILURE", "0", "FALSE"}
INTERCEPT_PENDING = {"PROCESSING", "ACCEPTED", "INTERCEPTING"}  # no result yet: accepted, nothing applied

LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")


def md5_upper(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324 - kuaidi100's protocol


def intercept_sign(param, t, key, secret):
    """The sign of a label/order request (SignUtils.printSign): over the exact param text sent."""
    return md5_upper(f"{param}{t}{key}{secret}")


def push_sign(param, salt):
    """The sign kuaidi100 puts on a push to us."""
    return md5_upper(f"{param}{salt}")


def param_text(param):
    """The param as sent: compact, Chinese as is (the sign covers these very characters)."""
    return json.dumps(param, ensure_ascii=False, separators=(",", ":"))


class Kuaidi100Adapter(CarrierAdapter):
    code = "kuaidi100"
    label = _("kuaidi100 (快递100)")
    capabilities = Capabilities(modes=frozenset(INTERCEPT_TYPES), query=False, tracking=True)
    subscription_limit = (SUBSCRIPTIONS_PER_MONTH, SUBSCRIPTION_MONTH)
    carrier_fields = (
        CredentialField("key", _("kuaidi100 key (授权key)"), help_text=_("From kuaidi100's enterprise back office.")),
        CredentialField("secret", _("kuaidi100 secret"), help_text=_("Signs interception requests (label/order).")),
        CredentialField(
            "customer",
            _("kuaidi100 customer id"),
            secret=False,
            required=False,
            help_text=_("Only kuaidi100's real-time query uses it; the portal does not."),
        ),
        CredentialField(
            "salt",
            _("callback salt"),
            help_text=_("Up to 32 characters of your choosing: kuaidi100 signs its pushes to the portal with it."),
        ),
    )
    account_fields = (
        CredentialField(
            "partnerId", _("e-waybill customer account (partnerId)"), secret=False, help_text=_("From the outlet.")
        ),
        CredentialField("partnerKey", _("e-waybill password (partnerKey)")),
        CredentialField("partnerSecret", _("e-waybill key (partnerSecret)"), required=False),
        CredentialField("partnerName", _("e-waybill account name (partnerName)"), secret=False, required=False),
        CredentialField("net", _("outlet name at the carrier (net)"), secret=False, required=False),
        CredentialField("code", _("e-waybill code (code)"), secret=False, required=False),
        CredentialField(
            "interceptPayType",
            _("who pays the interception (interceptPayType)"),
            secret=False,
            required=False,
            help_text=_("SHIPPER, CONSIGNEE, THIRDPARTY or MONTHLY; not sent when empty."),
        ),
    )

    def config_problems(self, carrier):
        problems = super().config_problems(carrier)
        if not carrier.service_code:
            problems.append(
                Problem(
                    "service_code_missing",
                    _("The carrier's code at kuaidi100 (e.g. zhongtong) is required."),
                    "service_code",
                )
            )
        if len(carrier.credentials.get("salt", "")) > 32:
            problems.append(Problem("too_long", _("kuaidi100 takes a salt of at most 32 characters."), "salt"))
        return problems

    def account_problems(self, account):
        problems = super().account_problems(account)
        pay = account.credentials.get("interceptPayType", "")
        if pay and pay not in PAY_TYPES:
            problems.append(
                Problem(
                    "invalid",
                    _("interceptPayType is one of %(v)s.") % {"v": ", ".join(PAY_TYPES)},
                    "interceptPayType",
                )
            )
        return problems

    def _configured(self, carrier):
        if problems := self.config_problems(carrier):
            raise CarrierRefused(" ".join(str(p.message) for p in problems), code="carrier_incomplete")
        return carrier.credentials

    # -- interception --------------------------------------------------------------------------------------------

    def intercept_param(self, order, account_credentials, carrier):
        creds = carrier.credentials
        param = {
            "kuaidicom": carrier.service_code,
            "kuaidinum": order.tracking_number,
            "interceptType": INTERCEPT_TYPES[order.mode],
            "orderId": str(order.pk),
            "orderRole": ORDER_ROLE,
            "reason": str(order.after_sale.reason or "") or "售后拦截",
            "salt": creds["salt"],
            "callbackUrl": callback_url(carrier),
        }
        for name in ("partnerId", "partnerKey", "partnerSecret", "partnerName", "net", "code", "interceptPayType"):
            if account_credentials.get(name):
                param[name] = account_credentials[name]
        if order.mode == InterceptionMode.REROUTE:
            phone = order.recipient_phone.strip()
            param["recManInfo"] = {
                "name": order.recipient_name,
                # A mobile number goes as mobile, anything else (a landline) as tel: one of them is required.
                ("mobile" if re.fullmatch(r"1\d{10}", phone) else "tel"): phone,
                "printAddr": order.recipient_address,
            }
        return param

    def submit(self, order, client):
        carrier = order.carrier
        creds = self._configured(carrier)
        if order.mode not in INTERCEPT_TYPES:
            raise CarrierRefused(_("kuaidi100 cannot intercept in this mode."), code="mode_unsupported")
        if order.mode == InterceptionMode.REROUTE and not (
            order.recipient_name and order.recipient_phone and order.recipient_address
        ):
            raise CarrierRefused(_("A reroute needs the new recipient's name, phone and address."), code="no_recipient")
        account = self.account_for(order)
        param = param_text(self.intercept_param(order, account.credentials, carrier))
        t = str(int(time.time() * 1000))
        form = {
            "method": "interceptOrder",
            "key": creds["key"],
            "t": t,
            "param": param,
            "sign": intercept_sign(param, t, creds["key"], creds["secret"]),
        }
        secrets = [creds["key"], creds["secret"], creds["salt"], *_secret_values(account.credentials, self)]
        url = settings.KUAIDI100_API_URL + INTERCEPT_PATH
        with client.call(CarrierCall.Operation.SUBMIT, url, form=form, secrets=secrets) as call:
            answer = call.json()
            if not isinstance(answer, dict):
                raise CarrierUnavailable("kuaidi100's answer is not a JSON object")
            code = str(answer.get("code", answer.get("returnCode", "")))
            message = str(answer.get("message") or "")
            call.answered(code, message)
            _raise_for(code, message, INTERCEPT_ERRORS, ok={"200"})
            data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
            ref = str(data.get("taskId") or "")
            max_ref = InterceptionOrder._meta.get_field("carrier_ref").max_length
            return ref if ref and len(ref) <= max_ref else f"K100-{order.pk}"

    # -- tracking subscription -----------------------------------------------------------------------------------

    def subscribe(self, parcel, client):
        """Subscribe the parcel's trail; returns kuaidi100's code (200, or 501: subscribed already)."""
        carrier = parcel.carrier
        creds = self._configured(carrier)
        param = param_text(
            {
                "company": carrier.service_code,
                "number": parcel.tracking_number,
                "key": creds["key"],
                "parameters": {"callbackurl": callback_url(carrier), "salt": creds["salt"], "resultv2": "4"},
            }
        )
        url = settings.KUAIDI100_POLL_URL + POLL_PATH
        form = {"schema": "json", "param": param}
        with client.call(
            CarrierCall.Operation.SUBSCRIBE, url, form=form, secrets=[creds["key"], creds["salt"]]
        ) as call:
            answer = call.json()
            if not isinstance(answer, dict):
                raise CarrierUnavailable("kuaidi100's answer is not a JSON object")
            code, message = str(answer.get("returnCode", "")), str(answer.get("message") or "")
            call.answered(code, message)
            _raise_for(code, message, SUBSCRIBE_ERRORS, ok=SUBSCRIBED_CODES)
            return code

    # -- pushes to us --------------------------------------------------------------------------------------------

    def read_callback(self, carrier, incoming, now):
        param, sign = _push_form(incoming)
        verify_push(carrier.credentials.get("salt", ""), param, sign)
        data = inputs.parse_json(param, code="invalid_event")
        if not isinstance(data, dict):
            raise _invalid(_("param is not a JSON object."), "param")
        # One address takes both kinds of push: a tracking push carries lastResult, an intercept result does not.
        if "lastResult" in data:
            return read_tracking_push(data, now)
        if "kuaidinum" in data:
            return read_intercept_result(data, now)
        raise _invalid(_("param is neither a tracking push nor an interception result."), "param")

    def answer(self, receipts):
        return _answer(True, "200", "成功")

    def refusal(self, error):
        # kuaidi100 reads the body: result false makes it push again later (then give up). Its returnCode is ours
        # to choose for errors: the HTTP status we would have used.
        fields = ", ".join(dict.fromkeys(e["field"] for e in error.errors if e.get("field")))
        return _answer(False, str(error.status), f"{error.code}{f' [{fields}]' if fields else ''}: {error.message}")


def _answer(result, code, message):
    body = json.dumps({"result": result, "returnCode": code, "message": str(message)}, ensure_ascii=False)
    return Answer(200, body.encode())


def _secret_values(credentials, adapter):
    return [credentials.get(f.name, "") for f in adapter.account_fields if f.secret]


def _raise_for(code, message, errors, *, ok):
    if code in ok:
        return
    ours, label = errors.get(code, ("refused", _("kuaidi100 refused the request (%(c)s).") % {"c": code}))
    text = message or str(label)
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT] + "…"
    text = f"kuaidi100 {code}: {text}"
    if ours == RETRY:
        raise CarrierUnavailable(text)
    raise CarrierRefused(text, code=ours)


def _push_form(incoming):
    form = incoming.form
    if "param" not in form:  # posted without a form content type: read the body as one
        try:
            parsed = parse_qs(incoming.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            parsed = {}
        form = {k: v[0] for k, v in parsed.items()}
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not param:
        raise _invalid(_("The push has no param."), "param")
    if problems := inputs.text_problems(param, "param") + inputs.text_problems(sign, "sign", max_length=64):
        raise _invalid(problems[0].message, "param", problems=problems)
    return param, sign or ""


def verify_push(salt, param, sign):
    """Refuse (401) a push whose sign is not UPPER(MD5(param + salt)) (compared without regard to case)."""
    if not salt:
        raise DomainError("bad_signature", _("This carrier has no kuaidi100 salt configured."), status=401)
    if not hmac.compare_digest(push_sign(param, salt), (sign or "").upper()):
        raise DomainError("bad_signature", _("The sign does not match the param."), status=401)


def _invalid(message, field, *, problems=()):
    errors = [p.as_dict() for p in problems] or [{"code": "invalid", "field": field, "message": str(message)}]
    return DomainError("invalid_event", message, errors=errors, status=400)


def _tracking_number(value, field):
    number = value.strip().upper() if isinstance(value, str) else value
    problems = inputs.text_problems(
        number, field, column=CarrierEvent._meta.get_field("tracking_number"), required=True
    )
    if problems:
        raise _invalid(problems[0].message, field, problems=problems)
    return number


def _local_time(value, field):
    """kuaidi100's "2026-11-20 10:00:00", Beijing time, as an aware datetime."""
    if not isinstance(value, str) or not LOCAL_TIME.fullmatch(value.strip()):
        raise _invalid(_("%(f)s must be a time like 2026-11-20 10:00:00.") % {"f": field}, field)
    text = value.strip()
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M")
    except ValueError:
        raise _invalid(_("%(f)s is not a real time.") % {"f": field}, field) from None
    return timezone.make_aware(naive, timezone.get_default_timezone())


def tracking_status(code, words=""):
    """Our status for kuaidi100's state or sub-code (or its words); None when it is none we know."""
    code = str(code or "").strip()
    if code in TRACKING_STATES:
        return TRACKING_STATES[code]
    if len(code) == 3 and code.isdigit() and code[0] in TRACKING_STATES:  # a sub-code we do not list: its state
        return TRACKING_STATES[code[0]]
    if words in STATE_WORDS:
        return TRACKING_STATES[STATE_WORDS[words]]
    return None


def event_id(number, entry_time, context):
    """A trail entry's id: kuaidi100 pushes the whole trail every time, so it must be the same every time."""
    digest = hashlib.sha256(f"{entry_time}\n{context}".encode()).hexdigest()[:24]
    return f"k100:{number}:{digest}"


def read_tracking_push(data, now):
    """A tracking push: one CarrierMessage per trail entry (oldest first), and a TrackingNotice for its status."""
    status = data.get("status")
    if status not in PUSH_STATUSES:
        raise _invalid(_("Unknown push status %(s)s.") % {"s": status}, "status")
    last = data["lastResult"]
    if not isinstance(last, dict):
        raise _invalid(_("lastResult is not an object."), "lastResult")
    number = _tracking_number(last.get("nu"), "lastResult.nu")
    entries = last.get("data") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid(_("lastResult.data is not a list of entries."), "lastResult.data")
    text_column = TrackingEvent._meta.get_field("raw_text")
    place_column = TrackingEvent._meta.get_field("place")
    messages = []
    for index, entry in enumerate(entries):
        field = f"lastResult.data[{index}]"
        context = entry.get("context") or ""
        if problems := inputs.text_problems(context, f"{field}.context", column=text_column):
            raise _invalid(problems[0].message, f"{field}.context", problems=problems)
        # resultv2 1 and 4 add the entry's area ("浙江,杭州市"); areaCenter is its coordinates, not a place.
        place = entry.get("areaName") or ""
        if problems := inputs.text_problems(place, f"{field}.areaName", column=place_column):
            raise _invalid(problems[0].message, f"{field}.areaName", problems=problems)
        raw_time = entry.get("ftime") or entry.get("time")
        at = _local_time(raw_time, f"{field}.ftime")
        words = entry.get("status") if isinstance(entry.get("status"), str) else ""
        mapped = tracking_status(entry.get("statusCode"), words)
        if mapped is None:  # the newest entry is what `state` describes; an older one we cannot place is moving
            mapped = (tracking_status(last.get("state")) if index == 0 else None) or S.IN_TRANSIT
        messages.append(
            CarrierMessage(
                event_id=event_id(number, raw_time.strip(), context),
                kind=CarrierEvent.Kind.TRACKING,
                tracking_number=number,
                occurred_at=at,
                status=mapped,
                text=context,
                place=place,
            )
        )
    messages.reverse()
    message = data.get("message") if isinstance(data.get("message"), str) else ""
    out = list(messages)
    if status == "shutdown":
        out.append(TrackingNotice(number, subscription=Subscription.ENDED, message=message))
    elif status == "abort":
        out.append(
            TrackingNotice(
                number, subscription=Subscription.DUE, resubscribe_after=RESUBSCRIBE_AFTER_ABORT, message=message
            )
        )
    elif status == "updateall":
        out.append(TrackingNotice(number, message=message, trail=tuple((m.occurred_at, m.text) for m in messages)))
    return out


def read_intercept_result(data, now):
    """UNCONFIRMED body (module docstring): an interception's result, or nothing while it is still pending."""
    number = _tracking_number(data.get("kuaidinum"), "kuaidinum")
    raw = data.get(INTERCEPT_STATUS_FIELD)
    word = str(raw).strip().upper() if isinstance(raw, (str, bool, int)) else ""
    if word in INTERCEPT_PENDING:
        return []
    if word in INTERCEPT_SUCCEEDED:
        result = CarrierResult.SUCCEEDED
    elif word in INTERCEPT_FAILED:
        result = CarrierResult.FAILED
    else:
        raise _invalid(_("Unknown interception status %(s)s.") % {"s": raw}, INTERCEPT_STATUS_FIELD)
    message = data.get("message") or ""
    reference = data.get("orderId") or ""
    if isinstance(reference, int) and not isinstance(reference, bool):
        reference = str(reference)
    if problems := inputs.text_problems(
        message, "message", column=InterceptionOrder._meta.get_field("failure_text")
    ) + inputs.text_problems(reference, "orderId", max_length=40):
        raise _invalid(problems[0].message, problems[0].field, problems=problems)
    at = _local_time(data["time"], "time") if data.get("time") else now
    reference = reference or number
    failed = result == CarrierResult.FAILED
    return [
        CarrierMessage(
            event_id=f"k100-intercept:{reference}:{result}",
            kind=CarrierEvent.Kind.INTERCEPTION_RESULT,
            tracking_number=number,
            occurred_at=at,
            result=result,
            text=message,
            reason_code="kuaidi100_failed" if failed else "",
            reason_text=message if failed else "",
        )
    ]
