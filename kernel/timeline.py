"""Recording and showing the timeline of any object (see portal.models.TimelineEntry)."""

from django.contrib.contenttypes.models import ContentType
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise

from kernel.models import TimelineEntry

SYSTEM = "system"  # stored, so not translated
BATCH = 1000  # rows per INSERT of record_many
# transition code -> translated label; apps add theirs with register_transitions().
TRANSITION_LABELS = {}


def register_transitions(labels):
    TRANSITION_LABELS.update(labels)


def actor_label(actor):
    if actor is None:
        return SYSTEM
    client = getattr(actor, "api_client", None)
    if client is not None:
        return f"API: {client}"
    return actor.get_username()


def record(obj, *, actor, transition, from_state="", to_state="", reason="", at=None):
    entry = entry_for(
        obj, actor=actor, transition=transition, from_state=from_state, to_state=to_state, reason=reason, at=at
    )
    entry.save()
    return entry


def record_many(entries):
    """Write entries made by `entry_for` in one INSERT per thousand: the set-based services' timeline."""
    return TimelineEntry.objects.bulk_create(entries, batch_size=BATCH)


def entry_for(obj, *, actor, transition, from_state="", to_state="", reason="", at=None):
    """The timeline entry `record` would write, unsaved."""
    entry = TimelineEntry(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        actor=actor,
        actor_label=actor_label(actor),
        transition=transition,
        from_state=from_state or "",
        to_state=to_state or "",
        reason=_source_text(reason),
    )
    if at is not None:
        entry.at = at
    return entry


def _source_text(text):
    """System reasons are stored untranslated and translated when shown; people's words as typed."""
    if isinstance(text, Promise):
        with translation.override(None):
            return str(text)
    return str(text or "")


def entries_for(obj):
    return TimelineEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True), object_id=obj.pk
    ).order_by("at", "id")


def render(obj, *, state_labels=None):
    """HTML table of an object's timeline, for admin change pages."""
    entries = list(entries_for(obj)) if obj is not None and obj.pk else []
    labels = state_labels or {}
    for entry in entries:
        entry.from_label = labels.get(entry.from_state, entry.from_state)
        entry.to_label = labels.get(entry.to_state, entry.to_state)
        entry.transition_label = TRANSITION_LABELS.get(entry.transition, entry.transition)
        entry.reason_label = translation.gettext(entry.reason) if entry.reason else ""
        # "system" is stored as a code (API filters and exports read it); people read it in their language.
        entry.by_label = translation.gettext("the system") if entry.actor_label == SYSTEM else entry.actor_label
    return render_to_string("portal/timeline.html", {"entries": entries})
