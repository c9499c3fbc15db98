"""The portal's one request signature, both ways: carriers' callbacks to us and our webhooks to merchants.

`X-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`, with the secret the two sides share.
"""

import hashlib
import hmac


def sign(secret, body, t):
    """The X-Signature header value for `body` (bytes) sent at unix time `t`."""
    mac = hmac.new(secret.encode(), f"{int(t)}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={int(t)},v1={mac}"
