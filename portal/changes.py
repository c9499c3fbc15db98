"""Lists that refresh (docs/notifications.md): the dashboard and the lists of work in flight say "N new results,
refresh" without a page reload.

The change marker is the newest timeline entry's id (every transition writes one, in its transaction); the page
carries the marker it was drawn at, and its script asks `changes/?list=…&since=…` every LIST_REFRESH_SECONDS how
many entries newer than that concern objects the user may see in that list (scoped by the list's own selector,
the user's own actions left out). A small indexed query: a range of the timeline's primary key.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import ngettext

from claims import selectors as claim_selectors
from interception import selectors
from kernel import inputs
from kernel.models import TimelineEntry
from settlement import selectors as settlement_selectors

CAP = 99  # "99+ new results" is as useful as the exact count

# Each list: the selectors of the objects whose changes it shows.
LISTS = {
    "interceptions": (selectors.interception_list,),
    "aftersales": (selectors.aftersale_list, selectors.interception_list),
    "applications": (selectors.contract_list, selectors.amendment_list),
    "dashboard": (
        selectors.interception_list,
        selectors.aftersale_list,
        selectors.contract_list,
        selectors.amendment_list,
        settlement_selectors.statement_list,
        claim_selectors.claim_list,
    ),
}


def marker():
    return TimelineEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _visible(user, list_name):
    """The list's querysets the user may view (a model they have no view permission on is left out)."""
    for selector in LISTS[list_name]:
        qs = selector(user)
        meta = qs.model._meta
        if user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
            yield qs


def new_since(user, list_name, since):
    """How many changes newer than `since` (capped) concern what `user` sees in the list, not made by them."""
    count = 0
    for qs in _visible(user, list_name):
        entries = TimelineEntry.objects.filter(
            id__gt=since,
            content_type=ContentType.objects.get_for_model(qs.model),
            object_id__in=qs.order_by().values("pk"),
        ).exclude(actor=user)
        count += entries.values("id")[: CAP + 1 - count].count()
        if count > CAP:
            break
    return count


def changes_view(request):
    """GET ?list=<name>&since=<marker>: {"marker": newest, "new": N, "text": "N new results, refresh"}."""
    list_name, since = request.GET.get("list", ""), request.GET.get("since", "")
    if list_name not in LISTS:
        return JsonResponse({"code": "list_invalid", "detail": "list is one of " + ", ".join(LISTS)}, status=400)
    if not inputs.is_id(since) and since != "0":
        return JsonResponse({"code": "since_invalid", "detail": "since is a change marker (a number)"}, status=400)
    newest = marker()
    new = new_since(request.user, list_name, int(since))
    text = ""
    if new:
        shown = f"{CAP}+" if new > CAP else str(new)
        text = ngettext("%(n)s new result, refresh", "%(n)s new results, refresh", new) % {"n": shown}
    return JsonResponse({"marker": newest, "new": min(new, CAP + 1), "text": text})


def refresh_context(request, list_name):
    """What a page's refresh banner needs: where to ask, the marker the page was drawn at, how often."""
    return {
        "url": f"{reverse('admin:portal_changes')}?list={list_name}",
        "marker": marker(),
        "interval": settings.LIST_REFRESH_SECONDS,
        "request": request,
    }
