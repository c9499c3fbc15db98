"""The search box at scale (issue 20, item 8): the list's query holds literal ids, never a subquery to guess."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/admin/interception/interceptionorder/"


def _list_queries(client, term):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"q": term})
    assert response.status_code == 200
    listed = {o.pk for o in response.context["cl"].result_list}
    big = [q["sql"] for q in queries if 'FROM "interception_interceptionorder"' in q["sql"]]
    return listed, big, len(queries)


def test_a_tracking_number_search_reads_interceptions_by_that_number_alone(client):
    """With no merchant or order of that name, the page and its count name only the tracking number.

    An OR with `IN (SELECT …)` left PostgreSQL guessing: it scanned the whole table (1 s at 1M interceptions).
    """
    mine, other = factories.started(), factories.started()
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    client.get(URL, {"q": mine.tracking_number})
    listed, big, count = _list_queries(client, mine.tracking_number)
    assert listed == {mine.pk} and other.pk not in listed
    assert big and all("SELECT" not in sql.split(" WHERE ", 1)[1] for sql in big if " WHERE " in sql)
    _, _, before = _list_queries(client, "")
    assert count <= before + 1  # the merchants and orders are looked up in one query


def test_a_merchant_or_order_search_filters_by_their_ids(client):
    mine, _other = factories.started(), factories.started()
    merchant = mine.merchant
    merchant.name = "江南丝绸店"
    merchant.save(update_fields=["name"])
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    for term in ("丝绸", merchant.code.lower(), mine.parcel.order_number):
        listed, big, _ = _list_queries(client, term)
        assert listed == {mine.pk}, term
        assert all("SELECT" not in sql.split(" WHERE ", 1)[1] for sql in big if " WHERE " in sql), term
