"""The channels' wire formats: how each group robot is addressed, signed and answers, and e-mail.

Each kind says which addresses it accepts (https, the vendor's host and path), whether it needs a signing
secret, its rate limit, how a message is written for it and how to read its answer: sent, too fast (wait
and send again) or failed (with the vendor's code and message). Nothing else knows a robot's format.
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit

import requests
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from kernel.errors import Problem


@dataclass
class Message:
    """What to say: a title and its items, each a line of text and the link to its object."""

    title: str
    items: list  # [(line, link)]


@dataclass
class Answer:
    outcome: str  # "sent", "too_fast" or "failed"
    http_status: int | None = None
    text: str = ""  # the vendor's answer as it came (or the error), for the delivery log
    reason: str = ""  # one line for people: the vendor's code and message


def heading(message):
    count = len(message.items)
    return f"{message.title}（{count}）" if count > 1 else message.title


class Robot:
    """A group robot reached by an HTTPS webhook whose address is itself the credential."""

    kind = ""
    hosts = ()
    path_prefix = ""
    needs_secret = False
    per_minute = 20
    per_second = None
    too_fast_codes = frozenset()
    too_fast_wait = 65  # seconds
    max_bytes = 4000

    def address_problems(self, url):
        if not url:
            return [Problem("missing_url", _("Enter the robot's webhook address."), field="url")]
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        test_host = host in settings.NOTIFY_TEST_HOSTS
        if len(url) > 1000:
            return [Problem("bad_url", _("The address is longer than 1000 characters."), field="url")]
        if not test_host and (parts.scheme != "https" or host not in self.hosts):
            return [
                Problem(
                    "bad_url",
                    _("Use the robot's https address on %(hosts)s.") % {"hosts": " / ".join(self.hosts)},
                    field="url",
                )
            ]
        if not parts.path.startswith(self.path_prefix) or not self.token_present(parts):
            return [
                Problem(
                    "bad_url",
                    _("This is not a robot's webhook address (expected %(p)s…).") % {"p": self.path_prefix},
                    field="url",
                )
            ]
        return []

    def token_present(self, parts):
        return True

    def problems(self, credentials, recipients=""):
        problems = self.address_problems(credentials.get("url", ""))
        if self.needs_secret and not credentials.get("secret"):
            problems.append(
                Problem("missing_secret", _("This robot signs its messages: enter its secret (SEC…)."), "secret")
            )
        return problems

    def fit(self, message):
        """The longest prefix of the message's items that the robot accepts in one message (at least one)."""
        items = list(message.items)
        while (
            len(items) > 1
            and len(json.dumps(self.body(Message(message.title, items)), ensure_ascii=False).encode()) > self.max_bytes
        ):
            items = items[: max(1, len(items) // 2)]
        return items

    def send(self, channel, message, now):
        url, body = self.request(channel.credentials, message, now)
        try:
            response = requests.post(
                url,
                json=body,
                timeout=(settings.NOTIFY_CONNECT_TIMEOUT, settings.NOTIFY_READ_TIMEOUT),
            )
        except requests.RequestException as exc:
            return Answer("failed", None, "", f"{exc.__class__.__name__}")
        return self.read(response)

    def request(self, credentials, message, now):
        return credentials["url"], self.body(message)

    def read(self, response):
        text = response.text[:2000]
        if response.status_code == 429:
            return Answer("too_fast", 429, text, "HTTP 429")
        if response.status_code >= 300:
            return Answer("failed", response.status_code, text, f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            return Answer("failed", response.status_code, text, _("the answer is not JSON"))
        code, msg = self.code_of(data if isinstance(data, dict) else {})
        if code == 0:
            return Answer("sent", response.status_code, text)
        outcome = "too_fast" if code in self.too_fast_codes else "failed"
        return Answer(outcome, response.status_code, text, f"{code} {msg}".strip())

    def code_of(self, data):
        return data.get("errcode"), data.get("errmsg", "")


def _markdown_lines(message, bullet):
    lines = []
    for line, link in message.items:
        lines.append(f"{bullet}[{line}]({link})" if link else f"{bullet}{line}")
    return lines


class WeCom(Robot):
    """企业微信: the key in the address is the secret; 45009 / 130101 mean too fast (20 a minute)."""

    kind = "wecom"
    hosts = ("qyapi.weixin.qq.com",)
    path_prefix = "/cgi-bin/webhook/send"
    too_fast_codes = frozenset({45009, 130101})
    max_bytes = 4096

    def token_present(self, parts):
        return "key=" in parts.query

    def body(self, message):
        content = "\n".join([f"**{heading(message)}**", *_markdown_lines(message, "> ")])
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def fit(self, message):
        # WeCom's limit is on the markdown content alone (4096 bytes).
        items = list(message.items)
        while len(items) > 1 and len(self.body(Message(message.title, items))["markdown"]["content"].encode()) > 4096:
            items = items[: max(1, len(items) // 2)]
        return items


def dingtalk_sign(secret, timestamp_ms):
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalk(Robot):
    """钉钉, signed: timestamp (ms) and sign in the address; 130101 / 410100 mean too fast, throttled 10 minutes."""

    kind = "dingtalk"
    hosts = ("oapi.dingtalk.com",)
    path_prefix = "/robot/send"
    needs_secret = True
    too_fast_codes = frozenset({130101, 410100})
    too_fast_wait = 600

    def token_present(self, parts):
        return "access_token=" in parts.query

    def body(self, message):
        text = "\n".join([f"#### {heading(message)}", "", *_markdown_lines(message, "- ")])
        return {"msgtype": "markdown", "markdown": {"title": heading(message), "text": text}}

    def request(self, credentials, message, now):
        timestamp = int(now.timestamp() * 1000)
        url = f"{credentials['url']}&timestamp={timestamp}&sign={dingtalk_sign(credentials['secret'], timestamp)}"
        return url, self.body(message)


def feishu_sign(secret, timestamp):
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Feishu(Robot):
    """飞书, signed: timestamp (s) and sign in the body; 5 a second, 100 a minute; 11232 means too fast."""

    kind = "feishu"
    hosts = ("open.feishu.cn", "open.larksuite.com")
    path_prefix = "/open-apis/bot/v2/hook/"
    needs_secret = True
    per_minute = 100
    per_second = 5
    too_fast_codes = frozenset({11232})
    too_fast_wait = 60
    max_bytes = 20000

    def token_present(self, parts):
        return len(parts.path) > len(self.path_prefix)

    def body(self, message):
        rows = []
        for line, link in message.items:
            rows.append([{"tag": "a", "text": line, "href": link}] if link else [{"tag": "text", "text": line}])
        return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": heading(message), "content": rows}}}}

    def request(self, credentials, message, now):
        timestamp = str(int(now.timestamp()))
        body = {"timestamp": timestamp, "sign": feishu_sign(credentials["secret"], timestamp), **self.body(message)}
        return credentials["url"], body

    def code_of(self, data):
        # Feishu answers {"code": 0, "msg": "success"}; older robots {"StatusCode": 0, "StatusMessage": "success"}.
        if "code" in data:
            return data.get("code"), data.get("msg", "")
        return data.get("StatusCode"), data.get("StatusMessage", "")


def recipient_list(text):
    return [a.strip() for a in (text or "").replace("\n", ",").replace(";", ",").split(",") if a.strip()]


class Email:
    """E-mail through Django's mail backend (SMTP in production, the console in development and the demo)."""

    kind = "email"
    needs_secret = False
    per_minute = None
    per_second = None
    too_fast_wait = 60

    def problems(self, credentials, recipients=""):
        addresses = recipient_list(recipients)
        if not addresses:
            return [Problem("missing_recipients", _("Enter at least one e-mail address."), field="recipients")]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                return [Problem("bad_recipient", _("%(a)s is not an e-mail address.") % {"a": address}, "recipients")]
        return []

    def fit(self, message):
        return list(message.items[:50])

    def body(self, message):
        lines = [f"- {line}\n  {link}" if link else f"- {line}" for line, link in message.items]
        return "\n".join([heading(message), "", *lines, ""])

    def send(self, channel, message, now):
        started = time.monotonic()
        try:
            mail.send_mail(
                subject=heading(message),
                message=self.body(message),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipient_list(channel.recipients),
            )
        except Exception as exc:  # smtplib and socket errors have no common base worth naming
            return Answer("failed", None, f"{exc.__class__.__name__}: {exc}"[:2000], exc.__class__.__name__)
        return Answer("sent", None, f"{int((time.monotonic() - started) * 1000)} ms")


KINDS = {k.kind: k() for k in (WeCom, DingTalk, Feishu, Email)}


def kind_of(channel):
    return KINDS[channel.kind]
