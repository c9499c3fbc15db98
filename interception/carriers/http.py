"""The one way adapters reach their services: HTTP with timeouts, each request and its answer in the call log.

A call is written to CarrierCall with the secrets it carried redacted, its latency and its outcome: answered,
to be asked again (busy, rate-limited, unreachable: CarrierUnavailable) or refused (CarrierRefused).
"""

import json as jsonlib
import time
from contextlib import contextmanager
from urllib.parse import quote, quote_plus, urlencode

import requests
from django.conf import settings

from interception.carriers.base import CarrierRefused, CarrierUnavailable
from interception.models import CarrierCall

REDACTED = "[redacted]"


class ServiceClient:
    """Calls to one carrier's service on behalf of one interception or parcel (what the log files them under)."""

    def __init__(self, carrier, *, interception=None, parcel=None):
        self.carrier, self.interception, self.parcel = carrier, interception, parcel

    @contextmanager
    def call(self, operation, url, *, form=None, json=None, headers=None, secrets=()):
        """POST to `url` and yield the Call; whatever the block raises decides the logged outcome.

        `secrets` are the values to redact wherever they appear in the logged request and answer.
        """
        call = Call(operation=operation, url=url, secrets=[s for s in secrets if s])
        call.request_text = urlencode(form) if form is not None else (json_text(json) if json is not None else "")
        started = time.monotonic()
        try:
            try:
                response = requests.post(
                    url,
                    data=form,
                    json=json,
                    headers=headers,
                    timeout=(settings.CARRIER_CONNECT_TIMEOUT, settings.CARRIER_READ_TIMEOUT),
                )
            except requests.RequestException as exc:
                call.service_message = f"{exc.__class__.__name__}: {exc}"
                raise CarrierUnavailable(call.service_message) from None
            finally:
                call.latency_ms = int((time.monotonic() - started) * 1000)
            call.response = response
            if response.status_code >= 500 or response.status_code == 429:
                raise CarrierUnavailable(f"HTTP {response.status_code} from {url}")
            yield call
        except CarrierUnavailable:
            self._log(call, CarrierCall.Outcome.RETRY)
            raise
        except CarrierRefused as exc:
            call.service_code = call.service_code or exc.code
            self._log(call, CarrierCall.Outcome.REFUSED)
            raise
        self._log(call, CarrierCall.Outcome.OK)

    def _log(self, call, outcome):
        tracking = (
            self.interception.tracking_number if self.interception else getattr(self.parcel, "tracking_number", "")
        )
        CarrierCall.objects.create(
            carrier=self.carrier,
            operation=call.operation,
            interception=self.interception,
            parcel=self.parcel,
            tracking_number=tracking,
            latency_ms=call.latency_ms,
            url=call.redact(call.url),
            http_status=call.response.status_code if call.response is not None else None,
            outcome=outcome,
            service_code=str(call.service_code)[:32],
            service_message=call.redact(call.service_message),
            request=call.redact(call.request_text),
            response=call.redact(call.response.text) if call.response is not None else "",
        )


class Call:
    """One request in flight: the adapter reads `response` and says what the service answered (`answered`)."""

    def __init__(self, *, operation, url, secrets):
        self.operation, self.url, self.secrets = operation, url, secrets
        self.request_text, self.response, self.latency_ms = "", None, 0
        self.service_code, self.service_message = "", ""

    def answered(self, code, message=""):
        self.service_code, self.service_message = str(code), str(message or "")

    def json(self):
        """The answer's JSON; an answer that is not JSON is the service misbehaving: asked again later."""
        try:
            return self.response.json()
        except ValueError:
            raise CarrierUnavailable(f"the answer is not JSON (HTTP {self.response.status_code})") from None

    def redact(self, text):
        """`text` without any secret, as sent or URL-encoded."""
        text = str(text or "")
        for secret in self.secrets:
            for form in {secret, quote_plus(secret), quote(secret, safe="")}:
                text = text.replace(form, REDACTED)
        return text


def json_text(value):
    return jsonlib.dumps(value, ensure_ascii=False)
