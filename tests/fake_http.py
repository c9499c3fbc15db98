"""The one local HTTP server the fakes of outside services run on (127.0.0.1, a free port, its own thread).

A fake is a function answering each POST: `answer(path, headers, body) -> (status, payload)`, the payload a
dict (sent as JSON) or bytes. The fake's protocol checks (signatures, parameters) live in the fake, not here.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Served:
    def __init__(self, answer):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = answer(self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def form_of(headers, body):
    """A URL-encoded form's fields (the first value of each); {} for any other body."""
    if "application/x-www-form-urlencoded" not in (headers.get("Content-Type") or ""):
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
