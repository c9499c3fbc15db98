"""What every ModelAdmin of the portal shares: scoping, big-table defaults, the timeline."""
from django.contrib import admin
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from portal import timeline
from portal.paginator import EstimatedCountPaginator


class PortalAdmin(admin.ModelAdmin):
    """Base admin: the queryset comes from a selector that scopes it to the user.

    `selector` is a function (user) -> QuerySet from the app's selectors.py.
    """

    selector = None
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        qs = type(self).selector(request.user)
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs


class ReadOnlyMixin:
    """Objects that change only through transitions (buttons calling services), never through the form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TimelineMixin:
    """Adds the object's timeline to the change page (read-only)."""

    timeline_state_labels = None

    @admin.display(description=_("Timeline"))
    def timeline(self, obj):
        return mark_safe(timeline.render(obj, state_labels=self.timeline_state_labels))  # noqa: S308 - template-escaped

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "timeline"]
