"""The benchmarks' anchors (tests/bench/anchor_admin.py) do the work they stand for (issue 20, item 7).

An anchor that quietly fails and rolls back is cheaper than the product and makes every ratio against it wrong:
the plain callback view did so once the tracking event gained a column it did not fill.
"""

import json
import time

import pytest
from django.test import override_settings

from interception import carriers
from interception.models import CarrierEvent, Parcel, TrackingEvent
from tests import factories

pytestmark = pytest.mark.django_db
SECRET = factories.CALLBACK_SECRET


def _post(client, path, event_id, number):
    body = json.dumps(
        {
            "event_id": event_id,
            "type": "tracking",
            "tracking_number": number,
            "status": "in_transit",
            "occurred_at": "2026-11-20T10:00:00+08:00",
            "text": "到达转运中心",
            "place": "杭州",
        },
        ensure_ascii=False,
    ).encode()
    return client.post(
        path, body, content_type="application/json", HTTP_X_SIGNATURE=carriers.sign(SECRET, body, time.time())
    )


@override_settings(ROOT_URLCONF="tests.bench.anchor_urls")
def test_plain_callback_anchor_stores_what_the_product_stores(client, jt):
    order = factories.started()
    number = order.tracking_number
    TrackingEvent.objects.filter(parcel=order.parcel_id).delete()  # the factory's own trail
    product = _post(client, "/api/v1/carriers/jt/events/", "p-1", number)
    anchor = _post(client, "/bench/plain-callback/jt/", "a-1", number)
    assert product.status_code == anchor.status_code == 200
    assert product.json()["duplicate"] is anchor.json()["duplicate"] is False
    stored = {e.event_id: e.outcome for e in CarrierEvent.objects.all()}
    assert stored == {"p-1": "applied", "a-1": "applied"}
    trail = list(TrackingEvent.objects.filter(parcel=order.parcel_id).values_list("status", "raw_text", "place"))
    assert trail == [("in_transit", "到达转运中心", "杭州")] * 2
    assert Parcel.objects.get(pk=order.parcel_id).last_status == "in_transit"
    # A repeated event id is the anchor's only "duplicate", as it is the product's.
    again = _post(client, "/bench/plain-callback/jt/", "a-1", number)
    assert again.json() == {"duplicate": True, "event_id": "a-1"}
    assert TrackingEvent.objects.filter(parcel=order.parcel_id).count() == 2
