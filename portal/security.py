"""Hardening shared by the admin and the API: client address, request limits, response headers, API rate limit."""

import ipaddress
import secrets
import time

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from kernel.http import refusal

# Nothing from another origin: the portal ships every asset it uses (charts are inline SVG). An inline script
# runs only with this response's nonce (the date-range filter's template reads it as request.csp_nonce).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        # Django's admin templates carry a few style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _trusted(address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_ip(request):
    """The address login lockout is keyed on.

    Behind the TLS proxy, X-Forwarded-For is read from the right: the first address that is not one of our
    TRUSTED_PROXIES is the client's (each proxy appends the address it was reached from; anything further
    left is whatever the client claimed). ProxyHeadersMiddleware has dropped the header already when the
    connection did not come from a trusted proxy.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_TLS_PROXY:
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(hops):
        if not _trusted(address):
            return address
    return hops[0] if hops else remote


class ProxyHeadersMiddleware:
    """Forget the forwarding headers of a connection that does not come from one of our proxies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (settings.BEHIND_TLS_PROXY and _trusted(request.META.get("REMOTE_ADDR", ""))):
            for header in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST"):
                request.META.pop(header, None)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=request.csp_nonce))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class TokenClientThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT requests per token client; staff sessions and signed carrier callbacks are not limited here."""

    scope = "token_client"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def _too_large(request, limit):
    return refusal(
        request,
        413,
        "body_too_large",
        _("The request is larger than %(n)s MB; nothing of it was used.") % {"n": f"{limit / (1024 * 1024):g}"},
    )


class RequestLimitsMiddleware:
    """Refuse, before anything reads it, a request whose body is too big or whose address holds a NUL.

    Uploads (multipart) may be up to REQUEST_MAX_BYTES; any other body up to DATA_UPLOAD_MAX_MEMORY_SIZE,
    as Django reads it into memory. PostgreSQL cannot compare a text holding NUL: a NUL in a filter or a
    search would be a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.REQUEST_MAX_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return _too_large(request, limit)
        if "\x00" in request.path:
            return refusal(request, 400, "invalid_character", _("The address contains a NUL character."))
        # Form fields are often ids and tokens looked up as they are (admin actions' selection): NUL there too.
        # (Django parses the form once; the view, DRF included, reads what was parsed here.)
        form = request.META.get("CONTENT_TYPE", "").startswith(("application/x-www-form-urlencoded", "multipart/"))
        for params in (request.GET, request.POST) if form and request.method == "POST" else (request.GET,):
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    name = key.replace("\x00", "")
                    return refusal(
                        request,
                        400,
                        "invalid_character",
                        _("The parameter %(p)s contains a NUL character.") % {"p": name},
                        field=name,
                    )
        return self.get_response(request)


def bad_request(request, exception):
    """handler400: a body Django refused while reading it (too big, too many fields) is a 413 like the rest."""
    if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
        return _too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if request.path_info.startswith("/api/"):
        return refusal(request, 400, "bad_request", _("The request could not be read."))
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    """handler404: on /api/ an address that matches no endpoint (an id that is not ASCII digits) in our shape."""
    if request.path_info.startswith("/api/"):
        return refusal(request, 404, "not_found", _("There is nothing at this address."))
    return defaults.page_not_found(request, exception)


# How often an active session's expiry is pushed forward: a write a minute per user, not one per request.
SESSION_RENEW_SECONDS = 60


class SessionIdleMiddleware:
    """Sessions expire SESSION_IDLE_MINUTES after the last request (SESSION_COOKIE_AGE), not after 14 days."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - session.get("_seen", 0) >= SESSION_RENEW_SECONDS:
                session["_seen"] = now  # a modified session is saved with a new expiry
        return self.get_response(request)


class DocsPermission(BasePermission):
    """The schema for anyone when API_DOCS_PUBLIC, else for those who have logged in (token or session)."""

    def has_permission(self, request, view):
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


def docs_view(view):
    """The Swagger page: without API_DOCS_PUBLIC, a visitor who has not logged in goes to the login page."""

    def wrapped(request, *args, **kwargs):
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
