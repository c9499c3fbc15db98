"""The benchmarks' anchors that need code of their own; they exist only here, never in the product.

- `site`: a second admin site with a default-configured ModelAdmin of the interception, after-sale and
  contract models, as a project would start with: a date hierarchy on the main date, the related fields
  (carrier, outlet, platform, merchant) as list filters, a search on the tracking number, Django's
  paginator with its full count. The changelist benchmarks time the portal's changelists against it.
- `plain_callback`: a plain Django view running the five statements of a carrier callback (the carrier, the
  parcel, the tracking event, the parcel's status unless newer, the carrier event) with a minimal HMAC check
  and none of the product's checks, against which the callbacks' throughput is measured.

Both are served from `anchor_urls` (the portal's URLs plus theirs): in-process through
`override_settings(ROOT_URLCONF=...)`, in gunicorn through `anchor_wsgi`.
"""

import hashlib
import hmac
import json

from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from interception.models import AfterSale, Contract, InterceptionOrder
from kernel import secrets

site = admin.AdminSite(name="anchor_admin")


class Default(admin.ModelAdmin):
    # Django's own changelist page: the portal's templates for these models link to the portal's admin views.
    change_list_template = "admin/change_list.html"


@admin.register(InterceptionOrder, site=site)
class InterceptionAnchor(Default):
    list_display = ["id", "tracking_number", "merchant", "outlet", "fee", "state", "requested_at"]
    list_filter = ["state", "settlement_mode", "carrier", "outlet", "platform", "merchant"]
    date_hierarchy = "requested_at"
    search_fields = ["tracking_number"]
    ordering = ["-id"]


@admin.register(AfterSale, site=site)
class AfterSaleAnchor(Default):
    list_display = ["number", "merchant", "parcel", "kind", "amount", "state", "created_at"]
    list_filter = ["state", "kind", "platform", "merchant"]
    date_hierarchy = "created_at"
    search_fields = ["parcel__tracking_number"]


@admin.register(Contract, site=site)
class ContractAnchor(Default):
    list_display = ["id", "merchant", "outlet", "settlement_mode", "fee", "state", "applied_at"]
    list_filter = ["state", "platform", "outlet__carrier", "outlet", "merchant"]
    date_hierarchy = "applied_at"
    search_fields = ["merchant__code"]


PARCEL = "SELECT id FROM interception_parcel WHERE carrier_id = %s AND tracking_number = %s"
TRACKING = (
    "INSERT INTO interception_trackingevent (parcel_id, status, raw_text, place, at, received_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
STATUS = (
    "UPDATE interception_parcel SET last_status = %s, last_event_at = %s"
    " WHERE id = %s AND (last_event_at IS NULL OR last_event_at <= %s)"
)
EVENT = (
    "INSERT INTO interception_carrierevent"
    " (carrier_id, event_id, kind, tracking_number, occurred_at, payload, received_at, outcome, detail)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '')"
)


@csrf_exempt
@require_POST
def plain_callback(request, code):
    """A tracking event in the portal's format, stored once per event id; a refusal is a JSON code."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, sealed_credentials FROM interception_carrier WHERE code = %s", [code])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"code": "unknown_carrier"}, status=404)
    carrier_id, sealed = row
    secret = secrets.unseal(sealed).get("callback_secret", "")  # sealed at rest, as the product keeps it
    parts = dict(p.split("=", 1) for p in request.headers.get("X-Signature", "").split(",") if "=" in p)
    body = request.body
    expected = hmac.new(secret.encode(), f"{parts.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(expected, parts.get("v1", "")):
        return JsonResponse({"code": "bad_signature"}, status=401)
    try:
        data = json.loads(body)
        at = parse_datetime(data["occurred_at"])
        number, status, text = data["tracking_number"], data["status"], data.get("text", "")
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "invalid_event"}, status=400)
    now = timezone.now()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(PARCEL, [carrier_id, number])
            parcel = cursor.fetchone()
            if parcel:
                cursor.execute(TRACKING, [parcel[0], status, text, data.get("place", ""), at, now])
                cursor.execute(STATUS, [status, at, parcel[0], at])
            cursor.execute(
                EVENT,
                [
                    carrier_id,
                    data["event_id"],
                    "tracking",
                    number,
                    at,
                    body.decode(),
                    now,
                    "applied" if parcel else "unknown_parcel",
                ],
            )
    except IntegrityError as exc:
        # Only the event id's unique index means "duplicate": any other integrity error is the anchor out of step
        # with the schema, and must show as an error in the benchmark instead of a cheap rolled-back answer.
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != "carrierevent_unique":
            raise
        return JsonResponse({"duplicate": True, "event_id": data["event_id"]})
    return JsonResponse(
        {"code": "applied", "event_id": data["event_id"], "duplicate": False}, status=200 if parcel else 202
    )
