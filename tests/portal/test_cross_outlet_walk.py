"""Outlet A's staff walk every registered admin and API endpoint against everybody else's objects (issue 7).

The data is the demo's (every state of every object); outlet A is a new outlet with no business of its own,
so everything but the shared network reference data belongs to other outlets. The walk is built from the
admin site's registry and the URL resolver, so an admin, an admin page or an endpoint added later is walked
without editing this file; a URL parameter the walk cannot fill fails the test and says so.
"""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from interception.models import (
    Carrier,
    Outlet,
    OutletMembership,
    Parcel,
    Platform,
    PlatformCarrier,
)
from kernel.models import TimelineEntry
from portal.urls import api as api_router
from tests import factories

pytestmark = pytest.mark.django_db
# Reference data every signed-in role may read; nothing in it belongs to an outlet.
SHARED_MODELS = {Platform, Carrier, PlatformCarrier}
SAMPLE = 3
HIDDEN = {403, 404}


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--quiet")
    outlet_a = factories.OutletFactory(code="WALK-A", name="走查网点A", carrier=Carrier.objects.get(code="jt"))
    staff_a = factories.outlet_staff("staff_walk_a", outlet_a)
    own = {outlet_a, OutletMembership.objects.get(user=staff_a)}
    others = Outlet.objects.exclude(pk=outlet_a.pk)
    markers = (
        {o.code for o in others}
        | {o.name for o in others}
        | set(Parcel.objects.values_list("tracking_number", flat=True))
    )
    return {"staff": staff_a, "own": own, "markers": markers}


def others_objects(model, own):
    """Up to SAMPLE objects of `model` that outlet A must not reach: the first, a middle and the last."""
    if model in SHARED_MODELS:
        return []
    qs = model._default_manager.exclude(pk__in=[o.pk for o in own if isinstance(o, model)]).order_by("pk")
    count = qs.count()
    picks = {0, count // 2, count - 1} if count else set()
    return [qs[i] for i in sorted(picks)][:SAMPLE]


def leaks(response, markers, links=()):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    return sorted({m for m in markers if m and m in text} | {link for link in links if link in text})


def hidden(response):
    """403/404, or the admin's own answer to a hidden object: back to the index with "doesn't exist"."""
    if response.status_code in HIDDEN:
        return True
    return response.status_code == 302 and response.headers["Location"] == reverse("admin:index")


def filled(pattern, obj, model_admin):
    """Every way to fill the pattern's parameters for `obj`; raises for a parameter the walk does not know."""
    keys = list(pattern.pattern.converters) or re.findall(r"\(\?P<(\w+)>", str(pattern.pattern))
    choices = {
        "object_id": [obj.pk],
        "id": [obj.pk],
        "pk": [obj.pk],
        "action": [a.name for a in getattr(model_admin, "object_actions", ())] or ["none"],
        "file_format": ["csv", "xlsx"],
        "evidence_id": list(_evidence_ids(obj)) or [0],
    }
    unknown = [k for k in keys if k not in choices]
    if unknown:
        raise AssertionError(f"{pattern.name}: the walk does not know how to fill {unknown}; teach filled()")
    combos = [{}]
    for key in keys:
        combos = [dict(c, **{key: v}) for c in combos for v in choices[key]]
    return combos


def _evidence_ids(obj):
    return obj.evidence.values_list("pk", flat=True) if hasattr(obj, "evidence") else []


def test_outlet_a_reaches_no_other_outlets_object_through_any_admin(world):
    client = Client()
    client.force_login(world["staff"])
    problems = []
    timeline_before = TimelineEntry.objects.count()
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        theirs = others_objects(model, world["own"])
        their_links = [reverse(f"{info}_change", args=[o.pk]) for o in theirs]
        for pattern in model_admin.get_urls():
            if not pattern.name:  # the admin's unnamed "<id>/" only redirects to the change page walked here
                continue
            takes_object = bool(set(pattern.pattern.converters) & {"object_id", "id", "pk"})
            if not takes_object:
                if not pattern.pattern.converters:
                    shown = leaks(client.get(reverse(f"admin:{pattern.name}")), world["markers"], their_links)
                    if shown:
                        problems.append(f"GET {pattern.name} shows {shown[:3]}")
                continue
            for obj in theirs:
                for kwargs in filled(pattern, obj, model_admin):
                    url = reverse(f"admin:{pattern.name}", kwargs=kwargs)
                    for method in (client.get, client.post):
                        response = method(url)
                        if not hidden(response) or leaks(response, world["markers"]):
                            problems.append(f"{method.__name__.upper()} {url} -> {response.status_code}")
        problems += _bulk_actions_touch_nothing(client, model, model_admin, theirs, info)
    assert not problems, "\n".join(problems)
    assert TimelineEntry.objects.count() == timeline_before, "an action on another outlet's object took effect"


def _bulk_actions_touch_nothing(client, model, model_admin, theirs, info):
    if not theirs:
        return []
    request = client.get(reverse(f"{info}_changelist")).wsgi_request
    if not model_admin.has_view_permission(request):
        return []
    before = list(model._default_manager.filter(pk__in=[o.pk for o in theirs]).order_by("pk").values())
    problems = []
    for name in model_admin.get_actions(request):
        response = client.post(
            reverse(f"{info}_changelist"),
            {
                "action": name,
                ACTION_CHECKBOX_NAME: [o.pk for o in theirs],
                "index": 0,
                "confirmed": "1",
                "post": "yes",
                "reason": "walk",
                "note": "walk",
            },
        )
        shown = leaks(response, {str(o) for o in theirs})
        if shown:
            problems.append(f"action {name} on {model._meta.label} shows {shown}")
    after = list(model._default_manager.filter(pk__in=[o.pk for o in theirs]).order_by("pk").values())
    if after != before:
        problems.append(f"a bulk action changed {model._meta.label} objects of another outlet")
    return problems


def _model_of(viewset, user):
    request = Request(APIRequestFactory().get("/"))
    request.user = user
    view = viewset(request=request, action="list", format_kwarg=None, kwargs={})
    return view.get_queryset().model


def _other_api_paths():
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif (
                isinstance(p, URLPattern)
                and (prefix + str(p.pattern)).startswith("api/v1/")
                and "^" not in prefix + str(p.pattern)
                and str(p.pattern)
            ):
                found.append((prefix + str(p.pattern), p))

    walk(get_resolver().url_patterns, "")
    return found


def test_outlet_a_reaches_no_other_outlets_object_through_any_api_endpoint(world):
    client = APIClient()
    client.force_authenticate(world["staff"])
    superuser = factories.User.objects.create_superuser("walk_root", password="x")
    problems = []
    timeline_before = TimelineEntry.objects.count()
    for prefix, viewset, _basename in api_router.registry:
        model = _model_of(viewset, superuser)
        theirs = others_objects(model, world["own"])
        listing = client.get(f"/api/v1/{prefix}/")
        shown = leaks(listing, world["markers"])
        if shown:
            problems.append(f"GET /api/v1/{prefix}/ shows {shown[:3]}")
        if listing.status_code == 200:
            ids = {row["id"] for row in listing.json().get("results", [])}
            shown = ids & {o.pk for o in theirs}
            if shown:
                problems.append(f"GET /api/v1/{prefix}/ lists {model._meta.label} {sorted(shown)}")
        detail_actions = [a.url_path for a in viewset.get_extra_actions() if a.detail]
        for obj in theirs:
            for suffix in ["", *(f"{path}/" for path in detail_actions)]:
                url = f"/api/v1/{prefix}/{obj.pk}/{suffix}"
                for method in ("get", "put", "patch", "delete", "post"):
                    response = getattr(client, method)(url, {}, format="json")
                    if response.status_code not in HIDDEN | {405}:
                        problems.append(f"{method.upper()} {url} -> {response.status_code}")
        # Creating something that points at another outlet's objects is refused.
        response = client.post(f"/api/v1/{prefix}/", _references_to_others(world["own"]), format="json")
        if response.status_code < 400:
            problems.append(f"POST /api/v1/{prefix}/ with other outlets' objects -> {response.status_code}")
    for route, pattern in _other_api_paths():
        kwargs = {key: Carrier.objects.first().code for key in pattern.pattern.converters}
        url = "/" + route
        for key, value in kwargs.items():
            url = re.sub(rf"<\w+:{key}>", value, url)
        response = client.post(url, _references_to_others(world["own"]), format="json")
        if response.status_code < 400:
            problems.append(f"POST {url} with other outlets' objects -> {response.status_code}")
    assert not problems, "\n".join(problems)
    assert TimelineEntry.objects.count() == timeline_before, "an API call on another outlet's object took effect"


def _references_to_others(own):
    from claims.models import Claim
    from interception.models import AfterSale, Contract, InterceptionOrder, Merchant
    from settlement.models import Statement

    def first(model):
        obj = model.objects.exclude(pk__in=[o.pk for o in own if isinstance(o, model)]).order_by("pk").first()
        return obj.pk if obj else None

    parcel = Parcel.objects.order_by("pk").first()
    return {
        "merchant": first(Merchant),
        "outlet": first(Outlet),
        "outlets": [first(Outlet)],
        "platform": Platform.objects.first().code,
        "parcel": parcel.pk,
        "tracking_number": parcel.tracking_number,
        "after_sale": first(AfterSale),
        "interception": first(InterceptionOrder),
        "contract": first(Contract),
        "statement": first(Statement),
        "claim": first(Claim),
        "kind": "loss",
        "fee": "5.00",
        "mode": "offline",
        "amount": "10.00",
        "number": "WALK-1",
        "reason": "walk",
        "order_number": "WALK-ORDER",
        "goods": [{"name": "walk", "category": "general", "quantity": 1, "value": "1.00"}],
    }
