"""API tokens: issued, rotated and revoked by supervisors; the key is returned once and never stored."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.models import ApiClient, ApiToken
from kernel import timeline
from kernel.errors import DomainError
from kernel.transitions import require

MANAGE = "interception.manage_api_tokens"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only copy: show it to the person who asked, then forget it


def api_token_issue(*, client, actor):
    """A first token for an API client that has none."""
    require(actor, MANAGE)
    with transaction.atomic():
        client = _lock(client)
        if _current(client.user_id) is not None:
            raise DomainError("token_exists", _("This API client already has a token: rotate or revoke it."))
        issued = _create(client.user_id, actor)
        timeline.record(
            client, actor=actor, transition="issue_token", reason=issued.token.prefix, at=issued.token.created_at
        )
    return issued


def api_token_rotate(*, client, actor):
    """A new token for the client; its current one stops working at once."""
    require(actor, MANAGE)
    with transaction.atomic():
        client = _lock(client)
        old = _current(client.user_id)
        if old is None:
            raise DomainError("no_token", _("This API client has no token to rotate: issue one."))
        now = timezone.now()
        _revoke(old, now)
        issued = _create(client.user_id, actor, at=now)
        timeline.record(
            client, actor=actor, transition="rotate_token", reason=f"{old.prefix} → {issued.token.prefix}", at=now
        )
    return issued


def api_token_revoke(*, actor, client=None, token=None):
    """Revoke `token`, or `client`'s current token; a revoked token answers 401 from then on."""
    require(actor, MANAGE)
    with transaction.atomic():
        if client is not None:
            client = _lock(client)
            token = _current(client.user_id)
            if token is None:
                raise DomainError("no_token", _("This API client has no token to revoke."))
        else:
            token = ApiToken.objects.select_for_update().get(pk=token.pk)
            if token.revoked_at is not None:
                raise DomainError("already_revoked", _("This API token is already revoked."))
            client = ApiClient.objects.filter(user_id=token.user_id).first()
        now = timezone.now()
        _revoke(token, now)
        # A token of a staff user (made before tokens were issued here) has no client: its own timeline.
        timeline.record(client or token, actor=actor, transition="revoke_token", reason=token.prefix, at=now)
    return token


def _lock(client):
    return ApiClient.objects.select_for_update().get(pk=client.pk)


def _current(user_id):
    return ApiToken.objects.select_for_update().filter(user_id=user_id, revoked_at__isnull=True).first()


def _create(user_id, actor, at=None):
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user_id=user_id,
        prefix=key[: ApiToken.PREFIX_LENGTH],
        digest=ApiToken.digest_of(key),
        created_by=actor,
        created_at=at or timezone.now(),
    )
    return IssuedToken(token=token, key=key)


def _revoke(token, at):
    token.revoked_at = at
    token.save(update_fields=["revoked_at"])
