"""What every ModelAdmin of the portal shares: scoping, big-table defaults, the timeline."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kernel import inputs, timeline
from kernel.http import refusal
from kernel.money import yuan
from kernel.paginator import EstimatedCountPaginator
from kernel.search import Ids, fetch_ids, tracking_number_q
from kernel.templatetags.portal_format import split_seconds


def admin_page(model_admin, request, template, **context):
    """A page of our own inside the admin (forms, reports, confirmations), with the admin's frame around it."""
    return TemplateResponse(
        request, template, {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, **context}
    )


class PortalAdmin(admin.ModelAdmin):
    """Base admin: the queryset comes from a selector that scopes it to the user.

    `selector` is a function (user) -> QuerySet from the app's selectors.py.
    """

    selector = None
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def response_action(self, request, queryset):
        # Django looks the selected ids up as posted: a forged one ("abc") would be a 500.
        if not all(inputs.is_id(pk) for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            return refusal(request, 400, "invalid_selection", _("The selection holds something that is not an id."))
        return super().response_action(request, queryset)

    def changelist_view(self, request, extra_context=None):
        # The list's name as its title, not Django's "Select after-sale to view" (选择售后单查看).
        extra_context = {"title": capfirst(self.opts.verbose_name_plural), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def render_page(self, request, template, **context):
        return admin_page(self, request, template, **context)

    def get_list_display(self, request):
        # Django names the id column "ID", untranslated (the model's auto field): people read 编号.
        return [number_column if name == "id" else name for name in super().get_list_display(request)]

    def get_queryset(self, request):
        qs = type(self).selector(request.user)
        if isinstance(self.list_select_related, (list, tuple)) and self.list_select_related:
            # The changelist skips list_select_related when the queryset has its own; add ours to it.
            qs = qs.select_related(*self.list_select_related)
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


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under an object for reading (history, goods, tracking); set `fields`."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class TimelineMixin:
    """Adds the object's timeline to the change page (read-only)."""

    timeline_state_labels = None

    @admin.display(description=_("Timeline"))
    def timeline(self, obj):
        return mark_safe(timeline.render(obj, state_labels=self.timeline_state_labels))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "timeline"]


def countdown(deadline, now=None):
    """Human text for the time left until `deadline` (or how long it is overdue)."""
    if deadline is None:
        return "—"
    seconds = int((deadline - (now or timezone.now())).total_seconds())
    days, hours, minutes = split_seconds(seconds)
    # Compact, for list columns; portal_duration is the wordier form for pages.
    span = (
        (_("%(d)sd %(h)sh") % {"d": days, "h": hours}) if days else (_("%(h)sh %(m)smin") % {"h": hours, "m": minutes})
    )
    return _("%(t)s left") % {"t": span} if seconds >= 0 else _("overdue by %(t)s") % {"t": span}


class AutocompleteListFilter(admin.ListFilter):
    """A list filter that picks one related object with the admin's autocomplete (for big related tables).

    Subclass with `title`, `field_name` (a foreign key of the listed model) and `parameter_name`.
    """

    template = "admin/portal/autocomplete_filter.html"
    field_name = None
    parameter_name = None

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        raw = params.pop(self.parameter_name, None)
        value = raw[-1] if isinstance(raw, list) else raw
        self.value = value if inputs.is_id(value) else None
        self.model, self.model_admin, self.request = model, model_admin, request

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_name]

    def queryset(self, request, queryset):
        return queryset.filter(**{f"{self.field_name}_id": self.value}) if self.value else queryset

    def choices(self, changelist):
        field = self.model._meta.get_field(self.field_name)
        widget = AutocompleteSelect(
            field,
            self.model_admin.admin_site,
            attrs={"data-filter-param": self.parameter_name, "class": "portal-autocomplete-filter"},
        )
        # The widget only loads the selected object; the others come from the autocomplete view as typed. Both
        # come from the related admin's scoped queryset: an id outside the user's scope shows nothing of it.
        related_admin = self.model_admin.admin_site._registry.get(field.related_model)
        scoped = related_admin.get_queryset(self.request) if related_admin else field.related_model.objects.none()
        widget.choices = forms.ModelChoiceField(scoped).choices
        selected = bool(self.value)
        yield {
            "widget": widget.render(f"filter-{self.parameter_name}", self.value or ""),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            "selected": selected,
        }


class SearchMixin:
    """One search box, several indexed ways to find a row (no LIKE '%x%' scans of a big table, no DISTINCT).

    `search_by` lists functions (request, term) -> Q or kernel.search.Ids; a row matching any of them is found.
    """

    search_fields = ["tracking_number"]  # shows the box; the ways are search_by's
    search_by = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        found, lookups = Q(pk__in=[]), []
        for way in self.search_by:
            match = way(request, term)
            if isinstance(match, Ids):
                lookups.append(match)
            else:
                found |= match
        for lookup, ids in zip(lookups, fetch_ids(lookups) if lookups else [], strict=True):
            if ids:
                found |= Q(**{f"{lookup.field}__in": ids})
        return queryset.filter(found), False


def by_tracking_number(field="tracking_number"):
    """Tracking number, exact or its beginning (a trailing * is allowed, not needed)."""
    return lambda request, term: tracking_number_q(term.rstrip("*") + "*", field)


def by_exact(field):
    return lambda request, term: Q(**{field: term})


class TrackingSearchMixin(SearchMixin):
    search_by = [by_tracking_number()]
    search_help_text = _("Tracking number, exact or its beginning.")


class OutletFilter(AutocompleteListFilter):
    """Lists of rows that belong to an outlet (interceptions, contracts, statements, claims, fees)."""

    title = _("outlet")
    field_name = "outlet"
    parameter_name = "outlet__id__exact"


class DefaultChoiceFilter(admin.SimpleListFilter):
    """A filter that opens on the rows that still need work rather than on everything: a list whose first screen is
    done rows invites the wrong click. "All" is a choice of its own, so removing the parameter keeps the default.

    Subclass with `title`, `parameter_name`, `default` (a value of `lookups`) and `filter(queryset, value)`.
    """

    default = None
    everything = "all"

    def value(self):
        return super().value() or self.default

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.everything or value not in {str(key) for key, _label in self.lookup_choices}:
            return queryset
        return self.filter(queryset, value)

    def filter(self, queryset, value):
        raise NotImplementedError

    def choices(self, changelist):
        for lookup, title in [*self.lookup_choices, (self.everything, _("All"))]:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.display(description=_("number"), ordering="id")
def number_column(obj):
    return obj.pk


number_column.__name__ = "id"  # the column keeps its class (column-id) and its sorting


def money_column(field, description):
    """A list column of yuan as people read it: ¥1,234.50."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        return yuan(getattr(obj, field))

    column.__name__ = f"{field}_yuan"
    return column


def reference_column(field, description):
    """A list column for a plain id of another object ("#12"), under a name instead of "INTERCEPTION ID"."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        value = getattr(obj, field)
        return f"#{value}" if value else "—"

    column.__name__ = field
    return column
