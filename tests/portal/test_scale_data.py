"""scale_data (issue 20, item 8): the benchmark rows are consistent, whichever way they are loaded."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from interception.models import AfterSale, InterceptionOrder, Parcel
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

ROWS = 2000


def _indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN"
            " ('interception_parcel'::regclass, 'interception_aftersale'::regclass,"
            " 'interception_interceptionorder'::regclass)"
        )
        # PostgreSQL prints a rebuilt predicate's casts another way (ARRAY[('a'::varchar)::text] for
        # (ARRAY['a'::varchar])::text[]): the same index, so compare without casts and brackets.
        return {(name, re.sub(r"::[a-z ]+(\[\])?|[() ]", "", sql)) for name, sql in cursor.fetchall()}


def _build(prefix, fast_load):
    out = StringIO()
    call_command("scale_data", rows=ROWS, prefix=prefix, fast_load=fast_load, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("fast_load", ["no", "yes"])
def test_r6_every_scale_interception_agrees_with_its_parcel_after_sale_and_contract(fast_load):
    indexes = _indexes()
    output = _build("T", fast_load)
    assert _indexes() == indexes  # the fast load builds again every index it dropped
    assert "interception_interceptionorder:" in output  # timings per table
    orders = InterceptionOrder.objects.filter(tracking_number__startswith="T").select_related(
        "parcel", "after_sale", "contract__outlet", "outlet"
    )
    assert orders.count() == ROWS
    assert Parcel.objects.filter(tracking_number__startswith="T").count() == ROWS
    assert AfterSale.objects.filter(number__startswith="TA").count() == ROWS
    now = timezone.now()
    states = set()
    for o in orders:
        states.add(o.state)
        p, a, c = o.parcel, o.after_sale, o.contract
        assert (p.tracking_number, p.merchant_id, p.outlet_id, p.carrier_id, p.platform_id) == (
            o.tracking_number,
            o.merchant_id,
            o.outlet_id,
            o.carrier_id,
            o.platform_id,
        )
        assert (a.parcel_id, a.merchant_id, a.platform_id) == (p.id, o.merchant_id, o.platform_id)
        assert (c.merchant_id, c.outlet_id, c.platform_id, c.state) == (
            o.merchant_id,
            o.outlet_id,
            o.platform_id,
            "active",
        )
        assert o.outlet.carrier_id == o.carrier_id
        # The fee snapshot (R6) as the contract had it, Decimal yuan with 2 places.
        assert (o.fee, o.settlement_mode, o.fee_includes_return) == (c.fee, c.settlement_mode, c.fee_includes_return)
        assert isinstance(o.fee, Decimal) and o.fee.as_tuple().exponent == -2
        assert a.amount.as_tuple().exponent == -2
        assert o.requested_at <= now and p.created_at < o.requested_at
        # Each state has what its transitions would have written, and nothing in the future.
        if o.state == "intercepting":
            assert o.result_at is None and o.submitted_at is not None and o.result_source == ""
        else:
            assert o.requested_at < o.result_at <= now and o.result_source == "callback"
        assert o.chargeable == (o.state in InterceptionOrder.SUCCESS_STATES)
        assert bool(o.failure_code) == (o.state == "failed")
        assert (o.return_scan_at is not None) == (o.state in ("returning", "returned", "return_failed"))
        assert (o.returned_at is not None) == (o.state == "returned")
        assert (o.return_loss == "lost") == (o.state == "return_failed")
        if o.return_scan_at:
            assert o.result_at <= o.return_scan_at <= now
        if o.state in ("returning", "returned"):
            assert p.last_status == o.state
        assert (a.decided_at is not None) == (a.state in ("refunded", "refused"))
        assert a.window_ends_at > a.intercepting_since
    assert states == {"returned", "failed", "succeeded", "returning", "intercepting", "return_failed"}


def test_scale_data_runs_again_with_another_prefix_and_the_pages_open_on_it(client):
    _build("T", "yes")
    _build("V", "no")
    assert InterceptionOrder.objects.filter(tracking_number__startswith="V").count() == ROWS
    sample = InterceptionOrder.objects.filter(tracking_number__startswith="V").first()
    for role in (roles.SUPERVISOR, roles.CUSTOMER_SERVICE, roles.FINANCE):
        client.force_login(factories.user(f"scale-{role}", role))
        for url in (
            "/admin/",
            "/admin/interception/interceptionorder/",
            "/admin/interception/interceptionorder/?state__exact=failed",
            f"/admin/interception/interceptionorder/?q={sample.tracking_number[:9]}",
            "/admin/interception/interceptionorder/?p=5",
            f"/admin/interception/interceptionorder/{sample.pk}/change/",
            "/admin/interception/aftersale/",
            "/admin/interception/parcel/",
        ):
            response = client.get(url)
            assert response.status_code == 200, (role, url)
    client.force_login(factories.outlet_staff("scale-outlet", sample.outlet))
    response = client.get("/admin/interception/interceptionorder/")
    assert response.status_code == 200
    assert {o.outlet_id for o in response.context["cl"].result_list} == {sample.outlet_id}
    assert client.get("/admin/").status_code == 200
