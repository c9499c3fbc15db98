"""Local stand-ins for the robots' services and a merchant's webhook receiver, on 127.0.0.1.

Each checks what the real service checks (the signature, the timestamp's hour, the message format and its
size) and answers as the vendor does: WeCom and DingTalk {"errcode", "errmsg"}, Feishu {"code", "msg"}.
A test scripts the next answers per robot ("too_fast", 500, "bad_json") and reads what was received.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOO_FAST = {
    "wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
    "dingtalk": {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    "feishu": {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1234]"},
}
OK = {
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success", "data": {}},
}


class FakeRobots:
    def __init__(self):
        self.secrets = {}  # token -> secret for DingTalk and Feishu robots
        self.script = defaultdict(deque)  # token -> next answers
        self.received = []  # (kind, token, body)
        self.refused = []  # (kind, token, reason)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wecom_url(self, key):
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def dingtalk_url(self, token, secret):
        self.secrets[token] = secret
        return f"{self.base}/robot/send?access_token={token}"

    def feishu_url(self, token, secret):
        self.secrets[token] = secret
        return f"{self.base}/open-apis/bot/v2/hook/{token}"

    def bodies(self, token):
        return [body for _kind, t, body in self.received if t == token]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._answer(200, {"errcode": 40001, "errmsg": "invalid json"})
                if parts.path == "/cgi-bin/webhook/send":
                    kind, token, problem = "wecom", query.get("key", ""), self._wecom(body)
                elif parts.path == "/robot/send":
                    kind, token = "dingtalk", query.get("access_token", "")
                    problem = self._dingtalk(token, query, body)
                elif parts.path.startswith("/open-apis/bot/v2/hook/"):
                    kind, token = "feishu", parts.path.rsplit("/", 1)[1]
                    problem = self._feishu(token, body)
                else:
                    return self._answer(404, {"errcode": 404, "errmsg": "not found"})
                if problem:
                    with robots.lock:
                        robots.refused.append((kind, token, problem[1]))
                    return self._answer(200, problem[0])
                with robots.lock:
                    scripted = robots.script[token].popleft() if robots.script[token] else "ok"
                    if scripted == "ok":
                        robots.received.append((kind, token, body))
                if scripted == "ok":
                    return self._answer(200, OK[kind])
                if scripted == "too_fast":
                    return self._answer(200, TOO_FAST[kind])
                if scripted == "bad_json":
                    return self._raw(200, b"<html>busy</html>")
                return self._answer(int(scripted), {"errcode": -1, "errmsg": "system error"})

            def _wecom(self, body):
                content = (body.get("markdown") or {}).get("content")
                if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
                    return {"errcode": 40008, "errmsg": "invalid message type"}, "format"
                if len(content.encode()) > 4096:
                    return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}, "length"
                return None

            def _dingtalk(self, token, query, body):
                secret = robots.secrets.get(token)
                timestamp = query.get("timestamp", "")
                expected = base64.b64encode(
                    hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
                ).decode()
                # parse_qs has already decoded the URL-encoding of the signature once.
                if not secret or not timestamp.isdigit() or not hmac.compare_digest(query.get("sign", ""), expected):
                    return {"errcode": 310000, "errmsg": "sign not match"}, "signature"
                if abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
                    return {"errcode": 310000, "errmsg": "timestamp expired"}, "timestamp"
                markdown = body.get("markdown") or {}
                if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
                    return {"errcode": 40035, "errmsg": "缺少参数 markdown"}, "format"
                return None

            def _feishu(self, token, body):
                secret = robots.secrets.get(token)
                timestamp = str(body.get("timestamp", ""))
                expected = base64.b64encode(
                    hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
                ).decode()
                if (
                    not secret
                    or not timestamp.isdigit()
                    or not hmac.compare_digest(str(body.get("sign", "")), expected)
                ):
                    return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}, "signature"
                if abs(time.time() - int(timestamp)) > 3600:
                    return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}, "timestamp"
                post = ((body.get("content") or {}).get("post") or {}).get("zh_cn") or {}
                if body.get("msg_type") != "post" or not post.get("title") or not isinstance(post.get("content"), list):
                    return {"code": 9499, "msg": "Bad Request"}, "format"
                if len(json.dumps(body).encode()) > 20 * 1024:
                    return {"code": 9499, "msg": "request body too large"}, "length"
                return None

            def _answer(self, status, data):
                self._raw(status, json.dumps(data, ensure_ascii=False).encode())

            def _raw(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


class WebhookReceiver:
    """A merchant's server: verifies X-Signature with the secret it was given, answers as scripted."""

    def __init__(self):
        self.secret = ""
        self.script = deque()
        self.received = []  # (headers, body dict)
        self.rejected = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/portal"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def verify(self, header, raw):
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        expected = hmac.new(self.secret.encode(), f"{parts.get('t', '')}.".encode() + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    if not receiver.verify(self.headers.get("X-Signature", ""), raw):
                        receiver.rejected.append(raw)
                        status = 401
                    else:
                        status = receiver.script.popleft() if receiver.script else 200
                        if status == 200:
                            receiver.received.append((dict(self.headers), json.loads(raw)))
                payload = b'{"ok": true}' if status == 200 else b'{"error": "no"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
