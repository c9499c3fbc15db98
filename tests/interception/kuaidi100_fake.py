"""A local kuaidi100 for the tests: label/order (interceptOrder) and poll, checked and answered as kuaidi100 does.

It verifies what kuaidi100 verifies: the key, the sign over the exact param text received
(UPPER(MD5(param + t + key + secret))), the parameters each operation needs (recManInfo for MODIFY_ADDR, a
callbackUrl for ZTO, YTO and J&T, mobile or tel), and answers with the recorded answers of
tests/fixtures/kuaidi100/. `script(...)` makes its next answers busy, an error code, ... It also signs pushes
as kuaidi100 would (`push_form`). Its signing is written here again on purpose, not imported from the adapter.
"""

import hashlib
import json
import threading
from pathlib import Path

import pytest

from tests import factories
from tests.fake_http import Served, form_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kuaidi100"
INTERCEPT_ANSWERS = json.loads((FIXTURES / "intercept_answers.json").read_text(encoding="utf-8"))
SUBSCRIBE_ANSWERS = json.loads((FIXTURES / "subscribe_answers.json").read_text(encoding="utf-8"))["answers"]
KEY, SECRET, SALT = "k100-test-key", "k100-test-secret", "k100-salt-for-tests"
CALLBACK_REQUIRED = {"zhongtong", "jtexpress", "yuantong"}
INTERCEPT_TYPES = {"RETURN_SEND_ADDR", "RETURN_SEND_STATION", "MODIFY_ADDR"}


def md5_upper(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324 - kuaidi100's protocol


def push_form(param, salt):
    """The form kuaidi100 posts to a callback URL: param as a JSON text, and its sign."""
    text = param if isinstance(param, str) else json.dumps(param, ensure_ascii=False)
    return {"param": text, "sign": md5_upper(text + salt)}


class FakeKuaidi100:
    def __init__(self, *, key, secret):
        self.key, self.secret = key, secret
        self.requests = []  # (path, form, param) as received
        self.subscribed = {}  # number -> times subscribed
        self._script = []
        self._lock = threading.Lock()

    def script(self, *answers):
        """The next answers, whatever the request: codes of intercept_answers / subscribe_answers ("200" ...),
        or an answer body of one's own (a dict)."""
        with self._lock:
            self._script.extend(a if isinstance(a, dict) else str(a) for a in answers)

    def _scripted(self):
        with self._lock:
            return self._script.pop(0) if self._script else None

    def handle(self, path, form):
        param_text = form.get("param", "")
        try:
            param = json.loads(param_text)
        except ValueError:
            param = None
        with self._lock:
            self.requests.append((path, form, param))
        if path == "/label/order":
            return self._intercept(form, param_text, param)
        if path == "/poll":
            return self._subscribe(form, param)
        return 404, {"message": "no such path"}

    def _intercept(self, form, param_text, param):
        answers = INTERCEPT_ANSWERS["errors"]
        if (code := self._scripted()) is not None:
            return 200, code if isinstance(code, dict) else INTERCEPT_ANSWERS["ok"] if code == "200" else answers[code]
        if form.get("method") != "interceptOrder" or param is None or not form.get("t"):
            return 200, answers["101"]
        if form.get("key") != self.key:
            return 200, answers["402"]
        if form.get("sign") != md5_upper(param_text + form["t"] + self.key + self.secret):
            return 200, answers["102"]
        missing = [k for k in ("kuaidicom", "kuaidinum", "interceptType") if not param.get(k)]
        if param.get("kuaidicom") in CALLBACK_REQUIRED and not param.get("callbackUrl"):
            missing.append("callbackUrl")
        if missing:
            return 200, {**answers["103"], "message": f"缺少必填参数: {','.join(missing)}"}
        if param["interceptType"] not in INTERCEPT_TYPES:
            return 200, answers["104"]
        if param["interceptType"] == "MODIFY_ADDR":
            man = param.get("recManInfo") or {}
            if not (man.get("name") and man.get("printAddr") and (man.get("mobile") or man.get("tel"))):
                return 200, {**answers["103"], "message": "缺少必填参数: recManInfo"}
        return 200, INTERCEPT_ANSWERS["ok"]

    def _subscribe(self, form, param):
        if (code := self._scripted()) is not None:
            return 200, code if isinstance(code, dict) else SUBSCRIBE_ANSWERS[code]
        if form.get("schema") != "json" or not isinstance(param, dict):
            return 200, SUBSCRIBE_ANSWERS["700"]
        if param.get("key") != self.key:
            return 200, SUBSCRIBE_ANSWERS["600"]
        parameters = param.get("parameters") or {}
        if not param.get("number") or not param.get("company") or not parameters.get("callbackurl"):
            return 200, SUBSCRIBE_ANSWERS["700"]
        with self._lock:
            times = self.subscribed.get(param["number"], 0)
            self.subscribed[param["number"]] = times + 1
        return 200, SUBSCRIBE_ANSWERS["501" if times else "200"]


def serve(fake):
    """Start `fake` on 127.0.0.1; returns (server, base URL)."""
    served = Served(lambda path, headers, body: fake.handle(path, form_of(headers, body)))
    return served, served.url


@pytest.fixture
def k100(settings):
    """The local kuaidi100, the portal's kuaidi100 addresses pointed at it."""
    service = FakeKuaidi100(key=KEY, secret=SECRET)
    server, url = serve(service)
    settings.KUAIDI100_API_URL = settings.KUAIDI100_POLL_URL = url
    settings.PORTAL_URL = "https://portal.example"
    yield service
    server.stop()


@pytest.fixture
def k100_zto(db):
    """The seeded ZTO carrier served by kuaidi100 (zhongtong), its credentials set."""
    carrier = factories.carrier("zto")
    carrier.adapter, carrier.service_code = "kuaidi100", "zhongtong"
    carrier.set_credentials({"key": KEY, "secret": SECRET, "salt": SALT})
    carrier.save()
    return carrier
