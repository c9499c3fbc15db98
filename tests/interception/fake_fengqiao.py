"""A local stand-in for 丰桥 (SF's open platform gateway) that checks requests as SF documents it.

It verifies partnerID, serviceCode, timestamp (Unix seconds within 5 minutes) and msgDigest with its own
implementation of Java's URLEncoder (SF's gateway is Java), and answers in SF's envelope. A test scripts the
next answers by name from tests/fixtures/sf/answers.json (busy, bad signature, not interceptable ...).
"""

import base64
import hashlib
import json
import time
from pathlib import Path

from tests.fake_http import Served, form_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sf"
ANSWERS = json.loads((FIXTURES / "answers.json").read_text(encoding="utf-8"))
JAVA_SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def java_url_encoder(text):
    """java.net.URLEncoder.encode(text, "UTF-8"), byte by byte."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in JAVA_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def sf_digest(msg_data, timestamp, checkword, variant):
    text = msg_data + timestamp + checkword
    if variant == "urlencoded":
        text = java_url_encoder(text)
    return base64.b64encode(hashlib.md5(text.encode("utf-8")).digest()).decode()  # noqa: S324


class FakeFengqiao:
    def __init__(self, *, partner_id, checkword, variant="urlencoded"):
        self.partner_id, self.checkword, self.variant = partner_id, checkword, variant
        self.script = []  # names of the next answers, in order
        self.requests = []  # the forms received

    def then(self, *names):
        self.script.extend(names)

    def answer_for(self, form):
        need = ("partnerID", "requestID", "serviceCode", "timestamp", "msgDigest", "msgData")
        if any(not form.get(k) for k in need):
            return ANSWERS["A1001"]
        if form["partnerID"] != self.partner_id or form["serviceCode"] != "EXP_RECE_WANTED_INTERCEPT":
            return ANSWERS["A1004"]
        if not form["timestamp"].isdigit() or abs(time.time() - int(form["timestamp"])) > 300:
            return ANSWERS["A1002"]
        expected = sf_digest(form["msgData"], form["timestamp"], self.checkword, self.variant)
        if form["msgDigest"] != expected:
            return ANSWERS["A1006"]
        data = json.loads(form["msgData"])
        address = data.get("newDestAddress") or {}
        if data.get("serviceCode") in ("1", "2") and not all(
            address.get(k) for k in ("province", "city", "county", "address")
        ):
            return ANSWERS["bad_parameter"]
        return ANSWERS[self.script.pop(0)] if self.script else ANSWERS["ok"]

    def _answer(self, path, headers, body):
        form = form_of(headers, body)
        self.requests.append(form)
        return 200, self.answer_for(form)

    def __enter__(self):
        self.served = Served(self._answer)
        self.url = self.served.url + "/std/service"
        return self

    def __exit__(self, *exc):
        self.served.stop()
