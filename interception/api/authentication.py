"""`Authorization: Token <key>` against hashed API tokens (interception.models.ApiToken)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from interception.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401s; the key is looked up by its hash, and its use is recorded."""

    def authenticate_credentials(self, key):
        # The client comes along: the caller's scope needs it on every request (interception/selectors.py).
        token = (
            ApiToken.objects.select_related("user", "user__api_client").filter(digest=ApiToken.digest_of(key)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API token has been revoked."), code="token_revoked")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token.mark_used()
        return token.user, token
