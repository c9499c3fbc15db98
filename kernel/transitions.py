"""What every domain action shares: locking a row inside the actor's scope, the guard, taking a transition."""

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from kernel import inputs, sql, timeline
from kernel.errors import DomainError, Problem, refuse
from kernel.permissions import actor_may


def not_found(what, pk):
    return DomainError(
        "not_found", _("%(what)s #%(pk)s does not exist or is not yours.") % {"what": what, "pk": pk}, status=404
    )


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
    """Refuse a transition that the row's state or the actor's permissions do not allow.

    `state_label` may be a callable, called only to refuse: a set of thousands of rows should not pay for
    translating each row's state label when none is refused."""
    if not can_proceed(bound_transition):
        raise invalid_state(state_label() if callable(state_label) else state_label)
    if not has_transition_perm(bound_transition, actor):
        raise DomainError("forbidden", _("You are not allowed to do this."), status=403)


def require(actor, perm):
    if not actor_may(actor, perm):
        raise DomainError("forbidden", _("You are not allowed to do this."), status=403)


def reason_problems(reason, *, what):
    if not (reason or "").strip():
        return [Problem("reason_required", _("A reason is required to %(what)s.") % {"what": what}, "reason")]
    return []


def lock_many(queryset, pks):
    """Load the rows `pks` FOR UPDATE from a scoped queryset in one query per 10,000, in id order (two sets
    locked at once cannot deadlock on each other); {pk: row}. Ids outside the scope are missing from the answer."""
    wanted, found = sorted(set(pks)), {}
    for start in range(0, len(wanted), sql.IN_BATCH):  # SQLite takes at most 32,766 parameters a statement
        rows = queryset.select_for_update(of=("self",)).filter(pk__in=wanted[start : start + sql.IN_BATCH])
        found.update((row.pk, row) for row in rows.order_by("pk"))
    return found


def check(obj, name, *, actor, reason="", reason_for=None):
    """Raise the DomainError that refuses transition `name` on `obj` now (state, permission, missing reason);
    otherwise return the reason as the timeline will store it."""
    guard(getattr(obj, name), actor, state_label=obj.get_state_display)
    if not isinstance(reason, Promise):  # a system reason stays lazy so the timeline stores its source text
        reason = str(reason or "").strip()
    if reason_for is not None and (problems := reason_problems(str(reason), what=reason_for)):
        refuse(problems, status=400)
    return reason


def fire(obj, name, *, actor, at, event=None, reason="", reason_for=None, recorded_at=None, **kwargs):
    """Take transition `name` on `obj` in memory, after `check`: the machine sets the row's fields; returns the
    unsaved timeline entry. The caller saves both, one row at a time (`take`) or a whole set at once."""
    from_state = obj.state
    if reason_for is not None:
        kwargs["reason"] = str(reason)
    getattr(obj, name)(by=actor, at=at, **kwargs)
    return timeline.entry_for(
        obj,
        actor=actor,
        transition=event or name,
        from_state=from_state,
        to_state=obj.state,
        reason=reason,
        at=recorded_at or at,
    )


def take(obj, name, *, actor, event=None, reason="", reason_for=None, at=None, recorded_at=None, **kwargs):
    """Take the transition `name` on a row locked by `lock`: guard, reason, transition, save, timeline.

    `reason_for` (what the reason is for, e.g. "reject an application") makes a reason mandatory.
    `event` is the timeline's transition code (defaults to `name`). `at` is when it happened (the transition
    stores it); `recorded_at`, when the timeline says it did, if another clock than ours reported `at`.
    """
    reason = check(obj, name, actor=actor, reason=reason, reason_for=reason_for)
    at = at or timezone.now()
    entry = fire(
        obj,
        name,
        actor=actor,
        at=at,
        event=event,
        reason=reason,
        reason_for=reason_for,
        recorded_at=recorded_at,
        **kwargs,
    )
    obj.save()
    entry.save()
    return at
