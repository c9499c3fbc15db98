"""Settings read from the environment.

Kept apart from settings.py so that parsing and its errors can be tested
without reloading Django settings.
"""

import ipaddress
import re
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

from kernel.secrets import development_key

SUPPORTED_ENGINES = {
    "django.db.backends.postgresql": "postgresql",
    "django.db.backends.sqlite3": "sqlite",
}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
# Django's own check (security.W009) wants at least 50 characters and 5 distinct ones.
MIN_SECRET_KEY_LENGTH = 50
DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production-0123456789"  # noqa: S105 - refused in production


class ConfigError(Exception):
    """A setting in the environment is unusable; the message is one line."""


def parse_bool(name, raw, default):
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def parse_list(raw):
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


LOOPBACK = "127.0.0.1,::1"


def parse_networks(name, raw, default):
    """Comma-separated addresses or CIDRs ("10.0.0.0/8, 192.168.1.5") as ip_network objects."""
    try:
        return [ipaddress.ip_network(item, strict=False) for item in parse_list(raw if raw is not None else default)]
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} holds something that is not an address or CIDR ({exc})") from None


def parse_database_url(url, *, base_dir):
    if not url:
        url = f"sqlite:///{Path(base_dir) / 'db.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several unrelated types
        raise ConfigError(
            f"DATABASE_URL is malformed ({exc.__class__.__name__}): "
            "expected postgres://user:password@host:port/name or sqlite:///path"
        ) from None
    engine = config.get("ENGINE")
    if engine not in SUPPORTED_ENGINES:
        raise ConfigError(f"DATABASE_URL uses an unsupported database ({engine}); use postgres:// or sqlite://")
    if not config.get("NAME"):
        raise ConfigError("DATABASE_URL names no database: add /<name> at the end")
    if engine == "django.db.backends.sqlite3":
        # Without IMMEDIATE, concurrent writers hit "database is locked" on the demo server.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
        config["CONN_MAX_AGE"] = 0
    return config


def _parse_number(name, raw, default, *, convert, valid, expected):
    """`default` when unset; else `raw` converted, or one line saying what was expected."""
    if raw is None or not raw.strip():
        return default
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise ConfigError(f"{name}={raw!r} is not {expected}")
    return value


def parse_rate(name, raw, default):
    return _parse_number(
        name,
        raw,
        default,
        convert=float,
        valid=lambda v: 0.0 <= v <= 1.0,
        expected="a share between 0 and 1 (e.g. 0.8)",
    )


def parse_hours(name, raw, default):
    return _parse_number(
        name, raw, default, convert=float, valid=lambda v: v > 0, expected="a positive number of hours (e.g. 4)"
    )


def parse_hour_of_day(name, raw, default):
    return _parse_number(
        name, raw, default, convert=int, valid=lambda v: 0 <= v <= 23, expected="an hour of the day from 0 to 23"
    )


def parse_count(name, raw, default, *, unit):
    return _parse_number(
        name,
        raw,
        default,
        convert=int,
        valid=lambda v: v >= 1,
        expected=f"a positive whole number of {unit} (e.g. {default})",
    )


RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


def parse_request_rate(name, raw, default):
    """ "600/min" as Django REST framework's throttles read it."""
    if raw is None or not raw.strip():
        return default
    count, _, period = raw.strip().partition("/")
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period not in RATE_PERIODS:
        raise ConfigError(f"{name}={raw!r} is not a rate like 600/min (per s, min, hour or day)")
    return f"{int(count)}/{period}"


def parse_seconds_range(name, raw, default):
    """ "20-90" -> (20.0, 90.0); a single number means a fixed delay."""
    if raw is None or not raw.strip():
        return default
    parts = raw.split("-")
    try:
        low, high = (float(parts[0]), float(parts[-1])) if len(parts) <= 2 else (-1.0, -1.0)
    except ValueError:
        low, high = -1.0, -1.0
    if low < 0 or high < low:
        raise ConfigError(f"{name}={raw!r} is not a range of seconds like 20-90")
    return low, high


def parse_service_url(name, raw, default):
    """An outside service's base address (tests point it at a local fake); no trailing slash."""
    url = (raw or "").strip().rstrip("/")
    if not url:
        return default
    if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", url):
        raise ConfigError(f"{name}={raw!r} is not an address like https://host")
    return url


def parse_fernet_keys(name, raw, *, production, secret_key):
    """CREDENTIALS_KEY: Fernet keys, comma-separated, the first used to seal. Required in production."""
    keys = parse_list(raw)
    if not keys:
        if production:
            raise ConfigError(
                f"{name} is required in production mode (generate one: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        return [development_key(secret_key)]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                f"{name} holds something that is not a Fernet key (44 url-safe base64 characters)"
            ) from None
    return keys


SF_DIGESTS = ("urlencoded", "raw")
SF_PRODUCTION_URL = "https://sfapi.sf-express.com/std/service"


def parse_choice(name, raw, choices):
    """One of `choices` (the first when unset), case-insensitive."""
    word = (raw or "").strip().lower() or choices[0]
    if word not in choices:
        raise ConfigError(f"{name}={raw!r}: use one of {', '.join(choices)}")
    return word


def parse_email(environ, *, production):
    """Outgoing mail: EMAIL_URL (smtp://user:password@host:587?tls=true, smtps:// for SSL) or EMAIL_HOST and
    its companions; unset, the console backend (development and the demo print the mails they would send)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    url = (environ.get("EMAIL_URL") or "").strip()
    host = (environ.get("EMAIL_HOST") or "").strip()
    from_email = (environ.get("DEFAULT_FROM_EMAIL") or "").strip() or "portal@localhost"
    if not url and not host:
        return {"backend": "django.core.mail.backends.console.EmailBackend", "from": from_email}
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("EMAIL_URL must look like smtp://user:password@host:587?tls=true (or smtps://)")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigError("EMAIL_URL holds a port that is not a number") from None
        config = {
            "host": parts.hostname,
            "port": port,
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": parse_bool("EMAIL_URL tls", query.get("tls"), default=False),
            "use_ssl": parts.scheme == "smtps",
        }
    else:
        config = {
            "host": host,
            "port": _parse_number(
                "EMAIL_PORT",
                environ.get("EMAIL_PORT"),
                25,
                convert=int,
                valid=lambda v: 0 < v < 65536,
                expected="a port number",
            ),
            "user": environ.get("EMAIL_HOST_USER", ""),
            "password": environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": parse_bool("EMAIL_USE_TLS", environ.get("EMAIL_USE_TLS"), default=False),
            "use_ssl": parse_bool("EMAIL_USE_SSL", environ.get("EMAIL_USE_SSL"), default=False),
        }
    if config["use_tls"] and config["use_ssl"]:
        raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other: choose one")
    return {"backend": "django.core.mail.backends.smtp.EmailBackend", "from": from_email, **config}


def read_settings(environ, *, base_dir):
    """Everything settings.py takes from the environment, validated."""
    production = (environ.get("PORTAL_MODE") or "development").strip().lower()
    if production not in ("development", "production"):
        raise ConfigError(f"PORTAL_MODE={production!r}: use development or production")
    production = production == "production"

    secret_key = environ.get("SECRET_KEY", "")
    if production:
        if not secret_key:
            raise ConfigError(
                "SECRET_KEY is required in production mode "
                "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(60))')"
            )
        if (
            len(secret_key) < MIN_SECRET_KEY_LENGTH
            or len(set(secret_key)) < 5
            or secret_key.startswith("django-insecure")
        ):
            raise ConfigError(
                f"SECRET_KEY is too weak for production: use at least {MIN_SECRET_KEY_LENGTH} random characters"
            )
    secret_key = secret_key or DEV_SECRET_KEY

    debug = parse_bool("DEBUG", environ.get("DEBUG"), default=not production)
    if production and debug:
        raise ConfigError("DEBUG must be false in production mode")

    allowed_hosts = parse_list(environ.get("ALLOWED_HOSTS"))
    if production and not allowed_hosts:
        raise ConfigError("ALLOWED_HOSTS is required in production mode (comma-separated host names)")
    if not allowed_hosts:
        allowed_hosts = ["127.0.0.1", "localhost", "testserver"]

    csrf_trusted_origins = parse_list(environ.get("CSRF_TRUSTED_ORIGINS"))
    for origin in csrf_trusted_origins:
        if "://" not in origin:
            raise ConfigError(f"CSRF_TRUSTED_ORIGINS entry {origin!r} needs a scheme (https://host)")

    portal_url = (environ.get("PORTAL_URL") or "").strip().rstrip("/")
    if portal_url and not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", portal_url):
        raise ConfigError(f"PORTAL_URL={portal_url!r}: use the address people and carriers reach, https://host")
    if production and portal_url.startswith("http://"):
        raise ConfigError("PORTAL_URL must use https in production mode (carriers post callbacks to it)")

    return {
        "production": production,
        "portal_url": portal_url or "http://127.0.0.1:8000",
        "secret_key": secret_key,
        "debug": debug,
        "allowed_hosts": allowed_hosts,
        "csrf_trusted_origins": csrf_trusted_origins,
        "database": parse_database_url(environ.get("DATABASE_URL"), base_dir=base_dir),
        "ssl_redirect": parse_bool("SECURE_SSL_REDIRECT", environ.get("SECURE_SSL_REDIRECT"), default=production),
        "behind_proxy": parse_bool("BEHIND_TLS_PROXY", environ.get("BEHIND_TLS_PROXY"), default=False),
        "api_docs_public": parse_bool("API_DOCS_PUBLIC", environ.get("API_DOCS_PUBLIC"), default=not production),
        "session_idle_minutes": parse_count(
            "SESSION_IDLE_MINUTES", environ.get("SESSION_IDLE_MINUTES"), 480, unit="minutes"
        ),
        "trusted_proxies": parse_networks("TRUSTED_PROXIES", environ.get("TRUSTED_PROXIES"), LOOPBACK),
        "login_failure_limit": parse_count(
            "LOGIN_FAILURE_LIMIT", environ.get("LOGIN_FAILURE_LIMIT"), 5, unit="attempts"
        ),
        "login_lockout_minutes": parse_count(
            "LOGIN_LOCKOUT_MINUTES", environ.get("LOGIN_LOCKOUT_MINUTES"), 15, unit="minutes"
        ),
        "request_max_mb": parse_count("REQUEST_MAX_MB", environ.get("REQUEST_MAX_MB"), 64, unit="megabytes"),
        "upload_max_rows": parse_count("UPLOAD_MAX_ROWS", environ.get("UPLOAD_MAX_ROWS"), 50_000, unit="rows"),
        "api_rate_limit": parse_request_rate("API_RATE_LIMIT", environ.get("API_RATE_LIMIT"), "600/min"),
        "carrier_adapter": environ.get("CARRIER_ADAPTER", "sandbox"),
        "credentials_keys": parse_fernet_keys(
            "CREDENTIALS_KEY", environ.get("CREDENTIALS_KEY"), production=production, secret_key=secret_key
        ),
        "carrier_log_days": parse_count("CARRIER_LOG_DAYS", environ.get("CARRIER_LOG_DAYS"), 90, unit="days"),
        "carrier_poll_hours": parse_hours("CARRIER_POLL_HOURS", environ.get("CARRIER_POLL_HOURS"), 4.0),
        "carrier_clock_skew_minutes": parse_count(
            "CARRIER_CLOCK_SKEW_MINUTES", environ.get("CARRIER_CLOCK_SKEW_MINUTES"), 10, unit="minutes"
        ),
        "kuaidi100_api_url": parse_service_url(
            "KUAIDI100_API_URL", environ.get("KUAIDI100_API_URL"), "https://api.kuaidi100.com"
        ),
        "kuaidi100_poll_url": parse_service_url(
            "KUAIDI100_POLL_URL", environ.get("KUAIDI100_POLL_URL"), "https://poll.kuaidi100.com"
        ),
        "kuaidi100_subscribe_rate": parse_count(
            "KUAIDI100_SUBSCRIBE_RATE", environ.get("KUAIDI100_SUBSCRIBE_RATE"), 20, unit="subscriptions a second"
        ),
        "sf_url": parse_service_url("SF_URL", environ.get("SF_URL"), SF_PRODUCTION_URL),
        "sf_digest": parse_choice("SF_DIGEST", environ.get("SF_DIGEST"), SF_DIGESTS),
        "email": parse_email(environ, production=production),
        "nudge_hours": parse_hours("NUDGE_HOURS", environ.get("NUDGE_HOURS"), 24.0),
        "window_warning_hours": parse_hours("WINDOW_WARNING_HOURS", environ.get("WINDOW_WARNING_HOURS"), 12.0),
        "digest_hour": parse_hour_of_day("DIGEST_HOUR", environ.get("DIGEST_HOUR"), 9),
        "carrier_failure_alert": parse_count(
            "CARRIER_FAILURE_ALERT", environ.get("CARRIER_FAILURE_ALERT"), 5, unit="failed submissions an hour"
        ),
        "notify_max_attempts": parse_count(
            "NOTIFY_MAX_ATTEMPTS", environ.get("NOTIFY_MAX_ATTEMPTS"), 6, unit="attempts"
        ),
        "sandbox_success_rate": parse_rate("SANDBOX_SUCCESS_RATE", environ.get("SANDBOX_SUCCESS_RATE"), 0.8),
        "sandbox_delay": parse_seconds_range(
            "SANDBOX_DELAY_SECONDS", environ.get("SANDBOX_DELAY_SECONDS"), (20.0, 90.0)
        ),
    }
