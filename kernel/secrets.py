"""Credentials at rest: sealed with Fernet (AES-128-CBC and HMAC-SHA256, from pyca/cryptography).

CREDENTIALS_KEY holds one or more Fernet keys, comma-separated: the first seals, every one opens, so a key is
rotated by putting the new one first and running `manage.py reseal_credentials` (portal/management). A sealed
value is opened only where a protocol needs it; pages, logs, exports and API answers never show it.
"""

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SealBroken(Exception):
    """A sealed value no configured key opens (a key was removed before its values were resealed)."""


def development_key(secret_key):
    """The key of a development machine, derived from SECRET_KEY (production must set CREDENTIALS_KEY)."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{secret_key}".encode()).digest()).decode()


def _vault():
    return _vault_of(tuple(settings.CREDENTIALS_KEYS))


@lru_cache(maxsize=8)
def _vault_of(keys):
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal(values):
    """A dict of strings sealed as text for a database column."""
    return _vault().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token):
    """The dict a `seal` made; {} for an empty column."""
    if not token:
        return {}
    return dict(_opened(token, tuple(settings.CREDENTIALS_KEYS)))


@lru_cache(maxsize=256)
def _opened(token, keys):
    # Every carrier callback opens its carrier's seal to check the signature: one token opens to the same values
    # each time, so a worker opens it once per key set (a resealed or changed value is another token).
    try:
        return json.loads(_vault_of(keys).decrypt(token.encode()))
    except InvalidToken:
        raise SealBroken("no key in CREDENTIALS_KEY opens these credentials") from None


def reseal(token):
    """The same values sealed with the first key (key rotation)."""
    return _vault().rotate(token.encode()).decode() if token else token
