"""Hardening shared by the admin and the API: client address, response headers, API rate limit."""
import secrets

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import SimpleRateThrottle

# Nothing from another origin: the portal ships every asset it uses (charts are inline SVG). An inline script
# runs only with this response's nonce (the date-range filter's template reads it as request.csp_nonce).
CONTENT_SECURITY_POLICY = "; ".join([
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
])
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def client_ip(request):
    """The address login lockout is keyed on.

    Behind the TLS proxy the connection comes from the proxy, so the last
    X-Forwarded-For entry (the one our proxy appended) is the client's; any
    earlier entries are whatever the client claimed and are ignored.
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


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
