from django import template

from portal.changes import refresh_context

register = template.Library()


@register.inclusion_tag("admin/portal/refresh.html", takes_context=True)
def portal_refresh(context, list_name):
    """The "N new results, refresh" banner of a list (portal/changes.py), drawn with the page's change marker."""
    return refresh_context(context["request"], list_name)
