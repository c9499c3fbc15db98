import pytest

from kernel import timeline
from kernel.models import TimelineEntry
from tests import factories

pytestmark = pytest.mark.django_db


def test_timeline_records_who_when_from_to_and_why():
    outlet = factories.OutletFactory()
    actor = factories.user("cs1")
    timeline.record(
        outlet, actor=actor, transition="approve", from_state="pending", to_state="active", reason="checked by phone"
    )
    timeline.record(outlet, actor=None, transition="expire", from_state="active", to_state="closed")
    entries = list(timeline.entries_for(outlet))
    assert [(e.actor_label, e.transition, e.from_state, e.to_state) for e in entries] == [
        ("cs1", "approve", "pending", "active"),
        ("system", "expire", "active", "closed"),
    ]
    assert entries[0].reason == "checked by phone" and entries[0].at.tzinfo is not None


def test_timeline_entries_of_other_objects_are_not_mixed_in():
    a, b = factories.OutletFactory(), factories.OutletFactory()
    timeline.record(a, actor=None, transition="x")
    assert list(timeline.entries_for(b)) == []
    assert TimelineEntry.objects.count() == 1


def test_timeline_renders_escaped_html():
    outlet = factories.OutletFactory()
    timeline.record(outlet, actor=None, transition="x", reason="<script>alert(1)</script>")
    html = timeline.render(outlet)
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_health_reports_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_single_row_sql_loads_fields_named_in_any_order(db):
    """kernel.sql.get hands each value to its own field, whatever order the names come in."""
    from interception.models import Carrier
    from kernel import sql

    carrier = Carrier.objects.get(code="jt")
    carrier.callback_secret = "s3"
    carrier.save()
    loaded = sql.get(Carrier, ["sealed_credentials", "adapter", "id", "code"], code="jt")
    assert (loaded.pk, loaded.code, loaded.adapter, loaded.callback_secret) == (carrier.pk, "jt", "sandbox", "s3")


def test_single_row_sql_is_counted_in_a_block_opened_after_its_cursor(db, django_assert_num_queries):
    """kernel.sql holds one cursor per connection; a query-counting block opened after it still counts it."""
    from interception.models import Carrier
    from kernel import sql

    carrier_id = sql.value(Carrier, "id", code="jt")
    with django_assert_num_queries(2):
        assert sql.value(Carrier, "id", code="jt") == carrier_id
        assert sql.get(Carrier, ["id", "code"], code="nowhere") is None


def test_r8_a_tracking_event_and_its_parcels_status_go_in_one_statement(db, django_assert_num_queries):
    """kernel.sql.insert_and_update_unless_newer: the event is always kept, the status moves only for a newer event,
    and on PostgreSQL both cost one statement (a callback's round trip fewer)."""
    from datetime import timedelta

    from django.utils import timezone

    from interception.models import Parcel, TrackingEvent
    from kernel import sql

    parcel = factories.parcel_for(factories.active_contract(), status="")  # no tracking yet
    now = timezone.now()

    def record(status, at):
        event = {"parcel": parcel.pk, "status": status, "raw_text": status, "place": "", "at": at, "received_at": now}
        return sql.insert_and_update_unless_newer(
            TrackingEvent, event, Parcel, parcel.pk, "last_event_at", last_status=status, last_event_at=at
        )

    with django_assert_num_queries(1):  # the suite runs on PostgreSQL
        assert record("out_for_delivery", now) is True
    assert record("in_transit", now - timedelta(hours=2)) is False  # older: kept on the trail, status unchanged
    parcel.refresh_from_db()
    assert (parcel.last_status, parcel.last_event_at) == ("out_for_delivery", now)
    trail = TrackingEvent.objects.filter(parcel=parcel).order_by("at").values_list("status", flat=True)
    assert list(trail) == ["in_transit", "out_for_delivery"]


@pytest.mark.django_db(transaction=True)
def test_single_row_sql_runs_on_the_new_connection_after_a_reconnect():
    """A worker's connection closes between requests (CONN_MAX_AGE): the held cursor is not used again."""
    from django.db import connection

    from interception.models import Carrier
    from kernel import sql

    carrier = Carrier.objects.create(code="rc", name="Reconnect")
    assert sql.value(Carrier, "code", id=carrier.pk) == "rc"
    connection.close()
    assert sql.value(Carrier, "code", id=carrier.pk) == "rc"
    # A connection the database dropped between requests fails Django's health check and is replaced.
    assert connection.health_check_enabled
    connection.connection.close()
    connection.health_check_done = False  # what the next request's start does
    assert sql.value(Carrier, "code", id=carrier.pk) == "rc"
