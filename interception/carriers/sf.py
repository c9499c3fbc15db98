"""顺丰 SF Express through 丰桥 (SF's open platform): interceptions (EXP_RECE_WANTED_INTERCEPT) and their results.

SF is direct: the portal calls SF itself with its 丰桥 customer code (partnerID) and check word, no aggregator
between. Every request is a form (partnerID, requestID, serviceCode, timestamp, msgDigest, msgData) and every
answer the same envelope: {apiResultCode (A1000 ok, A1xxx refused by the gateway), apiErrorMsg, apiResponseID,
apiResultData: a JSON *string* {success, errorCode (S0000 ok), errorMsg, msgData}}.

Facts and guesses are kept apart: what SF's documentation and official demos say is used as such; what they do
not say is marked *unconfirmed* below (and in docs/carriers/sf.md) and kept in one place each.
"""

import base64
import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

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
)
from interception.models import CarrierEvent, CarrierResult, InterceptionMode, InterceptionOrder
from kernel import inputs
from kernel.errors import DomainError

INTERCEPT = "EXP_RECE_WANTED_INTERCEPT"

# msgData.serviceCode of EXP_RECE_WANTED_INTERCEPT: 1 转寄 (to a new address), 2 退回 (back); 3-12 change the
# delivery (time, recipient, payment...) and are not interceptions. SF has no instruction "back to the sending
# outlet", so that mode is not offered.
INSTRUCTION = {InterceptionMode.REROUTE: "1", InterceptionMode.RETURN_TO_SENDER: "2"}
ROLE_SENDER = "1"  # the merchant asks as the sender (1 寄方, 2 收方, 3 第三方)
PAY_SENDER_CASH, PAY_THIRD_PARTY_MONTHLY, PAY_SENDER_MONTHLY = "1", "3", "4"  # 寄付, 转第三方月结, 寄付月结


# What the gateway's result codes (apiResultCode) mean for us: asked again later, or the attempt ends.
# Source: SF's 丰桥 API documentation, "(API)平台结果代码列表".
RETRY, REFUSE = "retry", "refuse"
PLATFORM_CODES = {
    "A1001": (REFUSE, "必传参数不可为空"),
    "A1002": (RETRY, "请求时效已过期"),  # our timestamp arrived stale: the next request carries a fresh one
    "A1003": (REFUSE, "IP无效"),
    "A1004": (REFUSE, "无对应服务权限"),
    "A1005": (RETRY, "流量受控"),  # rate-limited
    "A1006": (REFUSE, "数字签名无效"),
    "A1007": (REFUSE, "重复请求"),
    "A1008": (REFUSE, "数据解密失败"),
    "A1009": (RETRY, "目标服务异常或不可达"),
    "A1010": (REFUSE, "状态为沙箱测试"),
    "A1011": (REFUSE, "OAuth2认证失败"),
    "A1099": (RETRY, "系统异常"),
}
# Business codes (apiResultData.errorCode) asked again later; any other failure ends the attempt with SF's
# errorMsg (a parcel delivered already, intercepted once already, a bad address...: SF does not publish these
# codes for EXP_RECE_WANTED_INTERCEPT, its message says which). 4001 is SF's documented runtime error.
BUSINESS_RETRY = {"4001": "系统发生数据错误或运行时异常"}


def java_urlencode(text):
    """`text` as Java's URLEncoder.encode(text, "UTF-8") writes it, which SF's gateway (Java) uses.

    Python's quote_plus differs on two characters: it encodes "*" and keeps "~"; SF's documentation warns
    non-Java callers about exactly such characters.
    """
    return quote(text, safe="*").replace("%20", "+").replace("~", "%7E")


def msg_digest(msg_data, timestamp, checkword, variant=None):
    """base64(md5(urlencode(msgData + timestamp + checkword))), as SF's demos compute it.

    *Unconfirmed*: one public receiver verifies without the URL-encoding; SF_DIGEST chooses (urlencoded | raw).
    """
    variant = variant or settings.SF_DIGEST
    text = f"{msg_data}{timestamp}{checkword}"
    if variant == "urlencoded":
        text = java_urlencode(text)
    return base64.b64encode(hashlib.md5(text.encode("utf-8")).digest()).decode()  # noqa: S324 - SF's protocol


def sf_timestamp(now=None):
    """The request's timestamp. *Unconfirmed unit*: the documentation says only "long"; SF's official Python and
    PHP demos send Unix seconds, which is what we send."""
    return str(int((now or timezone.now()).timestamp()))


PROVINCE = r"(?P<province>北京市|天津市|上海市|重庆市|.+?(?:省|自治区|特别行政区))"
CITY = r"(?P<city>.+?(?:市|自治州|地区|盟))"
COUNTY = r"(?P<county>.+?(?:区|县|市|旗))"
ADDRESS = re.compile(rf"^{PROVINCE}{CITY}?{COUNTY}(?P<address>.+)$")
MUNICIPALITIES = {"北京市", "天津市", "上海市", "重庆市"}


def split_address(text):
    """A full Chinese address as SF's newDestAddress wants it (province, city, county, the rest), or None.

    "上海市浦东新区张江路1号" -> 上海市 / 上海市 / 浦东新区 / 张江路1号; a municipality is its own city.
    """
    match = ADDRESS.match((text or "").strip())
    if match is None:
        return None
    parts = match.groupdict()
    if not parts["city"]:
        if parts["province"] not in MUNICIPALITIES:
            return None
        parts["city"] = parts["province"]
    return parts


class SfAdapter(CarrierAdapter):
    code = "sf"
    label = _("SF Express (丰桥)")
    # 丰桥 offers no query of an interception's result (its route query is tracking): results are pushed.
    capabilities = Capabilities(modes=frozenset(INSTRUCTION), query=False, tracking=False)
    carrier_fields = (
        CredentialField(
            "partner_id",
            _("customer code (partnerID)"),
            secret=False,
            help_text=_("顾客编码 on 丰桥 (open.sf-express.com)."),
        ),
        CredentialField("checkword", _("check word"), help_text=_("校验码 on 丰桥; it signs requests and pushes.")),
        CredentialField(
            "monthly_card",
            _("monthly card number"),
            secret=False,
            required=False,
            help_text=_("月结卡号 that pays interceptions when the merchant's account names none."),
        ),
    )
    account_fields = (
        CredentialField(
            "return_address",
            _("return address"),
            secret=False,
            help_text=_("Where SF returns intercepted parcels: province, city, district and street, in full."),
        ),
        CredentialField("return_contact", _("return contact"), secret=False, required=False),
        CredentialField("return_phone", _("return phone"), secret=False, required=False),
        CredentialField(
            "monthly_card",
            _("merchant's monthly card number"),
            secret=False,
            required=False,
            help_text=_("The merchant's own 月结卡号; interceptions are then paid by it."),
        ),
    )

    def submit(self, order, client):
        if order.mode not in self.capabilities.modes:
            raise CarrierRefused(
                _("SF cannot send an intercepted parcel %(m)s.") % {"m": InterceptionMode(order.mode).label},
                code="mode_not_supported",
            )
        carrier = order.carrier
        if problems := self.config_problems(carrier):
            raise CarrierRefused(" ".join(str(p.message) for p in problems), code="carrier_incomplete")
        account = self.account_for(order)
        msg_data = json.dumps(self.intercept_data(order, carrier, account), ensure_ascii=False, separators=(",", ":"))
        data, response_id = self.post(client, "submit", INTERCEPT, msg_data, carrier)
        # A successful instruction answers msgData null; cusId, when SF returns one, names the instruction.
        result = data.get("msgData")
        cus_id = result.get("cusId") if isinstance(result, dict) else None
        return str(cus_id or response_id or order.tracking_number)[:64]

    def intercept_data(self, order, carrier, account):
        """msgData of EXP_RECE_WANTED_INTERCEPT for the order (fields as SF's demo 18.wanted_intercept.json)."""
        have = account.credentials
        if order.mode == InterceptionMode.REROUTE:
            text, contact, phone, field = (
                order.recipient_address,
                order.recipient_name,
                order.recipient_phone,
                "recipient_address",
            )
        else:
            text, contact, phone, field = (
                have.get("return_address", ""),
                have.get("return_contact", ""),
                have.get("return_phone", ""),
                "return_address",
            )
        address = split_address(text)
        if address is None:
            raise CarrierRefused(
                _("SF needs the %(f)s as province, city, district and street; %(a)s is not.")
                % {"f": field, "a": text or "—"},
                code="address_unsplittable",
            )
        address.update(contact=contact, phone=phone)
        card, pay_mode = have.get("monthly_card"), PAY_SENDER_MONTHLY
        if not card:
            card, pay_mode = carrier.credentials.get("monthly_card"), PAY_THIRD_PARTY_MONTHLY
        if not card:
            pay_mode = PAY_SENDER_CASH
        data = {
            "waybillNo": order.tracking_number,
            "serviceCode": INSTRUCTION[order.mode],
            "role": ROLE_SENDER,
            "payMode": pay_mode,
            "newDestAddress": {k: v for k, v in address.items() if v},
        }
        if card:
            data["monthlyCardNo"] = card
        return data

    def post(self, client, operation, service_code, msg_data, carrier):
        """One request to 丰桥: (apiResultData, apiResponseID), or CarrierUnavailable / CarrierRefused per SF's
        codes (PLATFORM_CODES, BUSINESS_RETRY)."""
        have = carrier.credentials
        timestamp = sf_timestamp()
        form = {
            "partnerID": have["partner_id"],
            "requestID": str(uuid.uuid4()),
            "serviceCode": service_code,
            "timestamp": timestamp,
            "msgDigest": msg_digest(msg_data, timestamp, have["checkword"]),
            "msgData": msg_data,
        }
        with client.call(operation, settings.SF_URL, form=form, secrets=[have["checkword"]]) as call:
            answer = call.json()
            if not isinstance(answer, dict):
                raise CarrierUnavailable("SF's answer is not its envelope")
            code, message = str(answer.get("apiResultCode") or ""), answer.get("apiErrorMsg") or ""
            if code != "A1000":
                call.answered(code, message)
                handling, meaning = PLATFORM_CODES.get(code, (REFUSE, ""))
                text = f"顺丰 {code}: {message or meaning}"
                if handling == RETRY:
                    raise CarrierUnavailable(text)
                raise CarrierRefused(text, code=f"sf_{code}")
            data = self.result_data(answer.get("apiResultData"))
            error_code, error_msg = str(data.get("errorCode") or ""), data.get("errorMsg") or ""
            call.answered(error_code or code, error_msg)
            if data.get("success") not in (True, "true"):
                text = f"顺丰 {error_code}: {error_msg or BUSINESS_RETRY.get(error_code, '')}"
                if error_code in BUSINESS_RETRY:
                    raise CarrierUnavailable(text)
                raise CarrierRefused(text, code=f"sf_{error_code}" if error_code else "sf_refused")
        return data, answer.get("apiResponseID")

    @staticmethod
    def result_data(raw):
        """apiResultData: a JSON string (some gateways send the object itself)."""
        if isinstance(raw, dict):
            return raw
        try:
            data = json.loads(raw or "")
        except (TypeError, ValueError):
            raise CarrierUnavailable("SF's apiResultData is not JSON") from None
        if not isinstance(data, dict):
            raise CarrierUnavailable("SF's apiResultData is not an object")
        return data

    # ---- SF pushing to us -------------------------------------------------------------------------------

    def read_callback(self, carrier, incoming, now):
        form = incoming.form
        missing = [
            k for k in ("partnerID", "requestID", "serviceCode", "timestamp", "msgDigest", "msgData") if not form.get(k)
        ]
        if missing:
            raise _invalid(_("Missing fields: %(f)s.") % {"f": ", ".join(missing)}, missing)
        have = carrier.credentials
        if not have.get("checkword"):
            raise DomainError("bad_signature", _("This carrier has no SF check word configured."), status=401)
        if form["partnerID"] != have.get("partner_id"):
            raise DomainError("bad_signature", _("The push names another SF customer code."), status=401)
        expected = msg_digest(form["msgData"], form["timestamp"], have["checkword"])
        if not hmac.compare_digest(expected.encode(), form["msgDigest"].encode()):
            raise DomainError("bad_signature", _("The msgDigest does not match the push."), status=401)
        if form["serviceCode"] not in PUSHED_SERVICES:
            raise _invalid(
                _("SF service %(s)s is not one the portal takes.") % {"s": form["serviceCode"]}, ["serviceCode"]
            )
        return [parse_intercept_result(form["msgData"])]

    def answer(self, receipts):
        # Held and unknown-parcel events are kept and applied later: for SF they are received.
        return _envelope(200, "A1000", "", {"success": True, "errorCode": "S0000", "errorMsg": "", "msgData": None})

    def refusal(self, error):
        code = {401: "A1006", 400: "A1001"}.get(error.status, "A1099")
        return _envelope(
            error.status,
            code,
            str(error.message),
            {"success": False, "errorCode": error.code, "errorMsg": str(error.message), "msgData": error.as_dict()},
        )


def _envelope(status, code, message, result):
    body = {
        "apiResultCode": code,
        "apiErrorMsg": message,
        "apiResponseID": uuid.uuid4().hex,
        "apiResultData": json.dumps(result, ensure_ascii=False),
    }
    return Answer(status, json.dumps(body, ensure_ascii=False).encode())


def _invalid(message, fields=(), *, problems=()):
    errors = [p.as_dict() for p in problems] or [
        {"code": "invalid", "field": f, "message": str(message)} for f in fields
    ]
    return DomainError("invalid_event", message, errors=errors, status=400)


# ---- The pushed result: *unconfirmed* -----------------------------------------------------------------------
# SF's public material says the result of an EXP_RECE_WANTED_INTERCEPT instruction is pushed to the customer in
# the same envelope (a form signed with msgDigest under our check word), but publishes neither the push's
# serviceCode nor its msgData. Until SF's integration team confirms them, we take the push to carry
#   serviceCode EXP_RECE_WANTED_INTERCEPT and
#   msgData {"waybillNo", "interceptResult": "SUCCESS" | "FAIL", "failCode", "failReason",
#            "operateTime": "YYYY-MM-DD HH:MM:SS" (Beijing time, SF's usual format), "serviceCode"}
# Everything that depends on that guess is here: change it here when SF says otherwise.
PUSHED_SERVICES = {INTERCEPT}
PUSHED_RESULTS = {"SUCCESS": CarrierResult.SUCCEEDED, "FAIL": CarrierResult.FAILED}
SF_TIME = "%Y-%m-%d %H:%M:%S"
BEIJING = ZoneInfo("Asia/Shanghai")


def parse_intercept_result(msg_data):
    """The CarrierMessage of one pushed interception result (msgData as assumed above), every text checked
    against the column it goes to; refused (400 invalid_event) naming the field otherwise."""
    data = inputs.parse_json(msg_data, code="invalid_event")
    if not isinstance(data, dict):
        raise _invalid(_("msgData is not a JSON object."), ["msgData"])
    missing = [k for k in ("waybillNo", "interceptResult", "operateTime") if data.get(k) in (None, "")]
    if missing:
        raise _invalid(_("Missing fields: %(f)s.") % {"f": ", ".join(missing)}, missing)
    if isinstance(data["waybillNo"], str):
        data["waybillNo"] = data["waybillNo"].strip().upper()
    columns = {
        "waybillNo": CarrierEvent._meta.get_field("tracking_number"),
        "failCode": InterceptionOrder._meta.get_field("failure_code"),
        "failReason": InterceptionOrder._meta.get_field("failure_text"),
    }
    problems = []
    for name, column in columns.items():
        problems += inputs.text_problems(data.get(name), name, column=column)
    occurred_at, time_problems = _sf_time(data["operateTime"])
    problems += time_problems
    if problems:
        raise _invalid(problems[0].message, problems=problems)
    result = PUSHED_RESULTS.get(data["interceptResult"])
    if result is None:
        raise _invalid(_("Unknown interceptResult %(r)s.") % {"r": data["interceptResult"]}, ["interceptResult"])
    failed = result == CarrierResult.FAILED
    reason_text = data.get("failReason") or ""
    return CarrierMessage(
        # SF may push one result twice with new requestIDs: the id is the result's own content.
        event_id=f"sf:{data['waybillNo']}:{data['interceptResult']}:{occurred_at:%Y%m%d%H%M%S}",
        kind=CarrierEvent.Kind.INTERCEPTION_RESULT,
        tracking_number=data["waybillNo"],
        occurred_at=occurred_at,
        result=result,
        text=reason_text if failed else "",
        reason_code=(data.get("failCode") or "sf_failed") if failed else "",
        reason_text=reason_text if failed else "",
    )


def _sf_time(value):
    """SF's "YYYY-MM-DD HH:MM:SS" in Beijing time, or an ISO 8601 time with its offset."""
    if isinstance(value, str) and inputs.bad_character(value) is None:
        try:
            return datetime.strptime(value.strip(), SF_TIME).replace(tzinfo=BEIJING), []
        except ValueError:
            pass
    return inputs.aware_datetime(value, "operateTime")
