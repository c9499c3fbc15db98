import os
import sys
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from import_export.formats import base_formats

from portal.env import ConfigError, read_settings

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    ENV = read_settings(os.environ, base_dir=BASE_DIR)
except ConfigError as exc:
    sys.stderr.write(f"portal: configuration error: {exc}\n")
    raise SystemExit(2) from None

PRODUCTION = ENV["production"]
SECRET_KEY = ENV["secret_key"]
DEBUG = ENV["debug"]
ALLOWED_HOSTS = ENV["allowed_hosts"]
CSRF_TRUSTED_ORIGINS = ENV["csrf_trusted_origins"]
DATABASES = {"default": ENV["database"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The demo's SQLite ignores an index's covering columns; they serve PostgreSQL's index-only scans.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin with the dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "rangefilter",
    "portal.apps.PortalAxesConfig",  # django-axes
    "kernel",
    "portal",
    "notifications",
    "interception",
    "settlement",
    "claims",
    "kpi",
]

MIDDLEWARE = [
    "portal.security.ProxyHeadersMiddleware",  # first: everything after it reads the client's true address
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.PortalLocaleMiddleware",
    "portal.security.RequestLimitsMiddleware",  # refusals in the caller's language; nothing before reads a body
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.security.SessionIdleMiddleware",
    "portal.security.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.roles.PermissionsBackend",  # ModelBackend, with the permissions in one query
]
# Login lockout: after LOGIN_FAILURE_LIMIT failures for one user name from one address, that pair waits.
AXES_FAILURE_LIMIT = ENV["login_failure_limit"]
AXES_COOLOFF_TIME = timedelta(minutes=ENV["login_lockout_minutes"])
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"
AXES_VERBOSE = False

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
# Uploaded evidence lives outside any public path and is served through a permission-checked view.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

LOGIN_URL = "admin:login"
# A session ends after SESSION_IDLE_MINUTES without a request (portal.security.SessionIdleMiddleware renews it).
SESSION_IDLE_MINUTES = ENV["session_idle_minutes"]
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API clients: hashed tokens, issued on the API client's admin page. Staff: their admin session.
        "interception.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "kernel.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kernel.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "portal.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["portal.security.TokenClientThrottle"],
}
API_RATE_LIMIT = ENV["api_rate_limit"]
# An upload (multipart) may be this big in all; any other body, DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB).
REQUEST_MAX_BYTES = ENV["request_max_mb"] * 1024 * 1024
# The schema and its docs page show every endpoint and field: in production only to those who have logged in.
API_DOCS_PUBLIC = ENV["api_docs_public"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Express interception portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN, and its script is a file so the CSP needs no inline script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ContractStateEnum": "interception.models.Contract.State",
        "AfterSaleStateEnum": "interception.models.AfterSale.State",
        "InterceptionStateEnum": "interception.models.InterceptionOrder.State",
        "LogisticsStatusEnum": "interception.models.LogisticsStatus",
        "AfterSaleKindEnum": "interception.models.AfterSale.Kind",
        "ClaimKindEnum": "claims.models.Claim.Kind",
        "ClaimStateEnum": "claims.models.Claim.State",
        "StatementStateEnum": "settlement.models.Statement.State",
        "CarrierEventReceiptCodeEnum": "portal.schema.RECEIPT_CODES",
        "InterceptionModeEnum": "interception.models.InterceptionMode",
        "SettlementModeEnum": "interception.models.SettlementMode",
    },
}

# Rows an uploaded CSV or XLSX may hold (decision files, outlet bills); more are refused before parsing.
UPLOAD_MAX_ROWS = ENV["upload_max_rows"]

IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Classes, not dotted paths: the library calls each entry. Imports use kernel.imports' formats, which read
# through kernel.spreadsheets; these are the export formats.
IMPORT_EXPORT_FORMATS = [base_formats.CSV, base_formats.XLSX]
# A dry run and a confirmation are each one transaction (kernel/admin_imports.py).
IMPORT_EXPORT_USE_TRANSACTIONS = True

# The portal's public address: what carriers post their callbacks to, and the links in messages.
PORTAL_URL = ENV["portal_url"]
CARRIER_ADAPTER = ENV["carrier_adapter"]
CREDENTIALS_KEYS = ENV["credentials_keys"]
CARRIER_LOG_DAYS = ENV["carrier_log_days"]
# Seconds to connect to a carrier's service and to wait for its answer; a slower one is asked again later.
CARRIER_CONNECT_TIMEOUT = 5
CARRIER_READ_TIMEOUT = 15
CARRIER_POLL_HOURS = ENV["carrier_poll_hours"]
CARRIER_CLOCK_SKEW_MINUTES = ENV["carrier_clock_skew_minutes"]
# kuaidi100 (快递100): its two hosts (label/order for interceptions, poll for tracking subscriptions) and the
# subscriptions it takes a second, across every runner (docs/carriers/kuaidi100.md).
KUAIDI100_API_URL = ENV["kuaidi100_api_url"]
KUAIDI100_POLL_URL = ENV["kuaidi100_poll_url"]
KUAIDI100_SUBSCRIBE_RATE = ENV["kuaidi100_subscribe_rate"]
# 顺丰 丰桥: the service's address (sandbox https://sfapi-sbox.sf-express.com/std/service) and how its
# msgDigest is computed (docs/carriers/sf.md).
SF_URL = ENV["sf_url"]
SF_DIGEST = ENV["sf_digest"]
# Notifications and merchant webhooks (docs/notifications.md).
EMAIL_BACKEND = ENV["email"]["backend"]
DEFAULT_FROM_EMAIL = SERVER_EMAIL = ENV["email"]["from"]
EMAIL_HOST = ENV["email"].get("host", "localhost")
EMAIL_PORT = ENV["email"].get("port", 25)
EMAIL_HOST_USER = ENV["email"].get("user", "")
EMAIL_HOST_PASSWORD = ENV["email"].get("password", "")
EMAIL_USE_TLS = ENV["email"].get("use_tls", False)
EMAIL_USE_SSL = ENV["email"].get("use_ssl", False)
EMAIL_TIMEOUT = 15
NOTIFY_CONNECT_TIMEOUT = 5
NOTIFY_READ_TIMEOUT = 10
NOTIFY_MAX_ATTEMPTS = ENV["notify_max_attempts"]
# Hosts a channel or webhook may point at over plain http without being the vendor's: the tests' fake servers.
NOTIFY_TEST_HOSTS = []
NUDGE_HOURS = ENV["nudge_hours"]
WINDOW_WARNING_HOURS = ENV["window_warning_hours"]
DIGEST_HOUR = ENV["digest_hour"]  # the outlets' daily digest, Asia/Shanghai
CARRIER_FAILURE_ALERT = ENV["carrier_failure_alert"]  # failed submissions to one carrier in an hour → supervisors
LIST_REFRESH_SECONDS = 15  # how often the dashboard and the lists of work in flight ask for new results
SANDBOX_SUCCESS_RATE = ENV["sandbox_success_rate"]
SANDBOX_DELAY_SECONDS = ENV["sandbox_delay"]

# Production hardening: `manage.py check --deploy` must print nothing in production mode.
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = ENV["ssl_redirect"]
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = ENV["behind_proxy"]
# Only connections from these addresses may speak for the client (X-Forwarded-For, -Proto): anyone reaching
# gunicorn directly could otherwise claim a new address on every try and never be locked out.
TRUSTED_PROXIES = ENV["trusted_proxies"]
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if PRODUCTION else "WARNING"},
}
