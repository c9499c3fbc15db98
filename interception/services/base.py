"""What every domain action shares: locking a row inside the actor's scope, and the guard."""
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from portal import inputs
from portal.errors import DomainError


def not_found(what, pk):
    return DomainError("not_found", _("%(what)s #%(pk)s does not exist or is not yours.") % {"what": what, "pk": pk},
                       status=404)


def lock(queryset, pk, *, what):
    """Load one row FOR UPDATE from a scoped queryset; outside the scope it does not exist."""
    try:
        return queryset.select_for_update(of=("self",)).get(pk=pk)
    except queryset.model.DoesNotExist:
        raise not_found(what, pk) from None


def find(queryset, pk, *, what):
    """Read one row of a scoped queryset without a lock; outside the scope, or not an id, it does not exist."""
    row = queryset.filter(pk=pk).first() if inputs.is_id(pk) else None
    if row is None:
        raise not_found(what, pk)
    return row


def invalid_state(state_label):
    return DomainError("invalid_state", _("Not possible: it is %(state)s now.") % {"state": state_label})


def guard(bound_transition, actor, *, state_label):
    """Refuse a transition that the row's state or the actor's permissions do not allow."""
    if not can_proceed(bound_transition):
        raise invalid_state(state_label)
    if not has_transition_perm(bound_transition, actor):
        raise DomainError("forbidden", _("You are not allowed to do this."), status=403)


def require(actor, perm):
    from portal.permissions import actor_may

    if not actor_may(actor, perm):
        raise DomainError("forbidden", _("You are not allowed to do this."), status=403)


def require_own_merchant(actor, merchant):
    """A merchant's API client acts only for its own merchant; staff and the system for any."""
    from interception import selectors

    scope = selectors.scope_for(actor) if actor is not None else None
    if scope is not None and scope.merchant_id is not None and scope.merchant_id != merchant.pk:
        raise DomainError("forbidden", _("An API client acts only for its own merchant."), status=403)


def take(obj, name, *, actor, event=None, reason="", reason_for=None, at=None, recorded_at=None, **kwargs):
    """Take the transition `name` on a row locked by `lock`: guard, reason, transition, save, timeline.

    `reason_for` (what the reason is for, e.g. "reject an application") makes a reason mandatory.
    `event` is the timeline's transition code (defaults to `name`). `at` is when it happened (the transition
    stores it); `recorded_at`, when the timeline says it did, if another clock than ours reported `at`.
    """
    from django.utils import timezone

    from portal import timeline
    from portal.errors import refuse

    from interception import rules

    bound = getattr(obj, name)
    guard(bound, actor, state_label=obj.get_state_display())
    if not isinstance(reason, Promise):  # a system reason stays lazy so the timeline stores its source text
        reason = str(reason or "").strip()
    if reason_for is not None and (problems := rules.reason_problems(str(reason), what=reason_for)):
        refuse(problems, status=400)
    at = at or timezone.now()
    from_state = obj.state
    if reason_for is not None:
        kwargs["reason"] = str(reason)
    bound(by=actor, at=at, **kwargs)
    obj.save()
    timeline.record(obj, actor=actor, transition=event or name, from_state=from_state, to_state=obj.state,
                    reason=reason, at=recorded_at or at)
    return at
