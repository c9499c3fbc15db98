"""Changelist pages at any depth show the same rows in the same order, whatever way they are fetched."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kernel import paginator as portal_paginator

pytestmark = pytest.mark.django_db


def test_deep_pages_read_ids_first_and_match_plain_offset_pages(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(portal_paginator, "DEFERRED_FROM", 10)
    qs = Permission.objects.select_related("content_type").order_by("-codename", "-pk")
    ours, plain = portal_paginator.EstimatedCountPaginator(qs, 7, orphans=2), Paginator(qs, 7, orphans=2)
    assert ours.num_pages == plain.num_pages > 3
    for number in ours.page_range:
        page = ours.page(number)
        assert [p.pk for p in page] == [p.pk for p in plain.page(number)], number
        assert (page.start_index(), page.end_index()) == (
            plain.page(number).start_index(),
            plain.page(number).end_index(),
        )
    with django_assert_num_queries(2):  # the ids, then those rows with their related objects
        [p.content_type.app_label for p in ours.page(3)]


@pytest.mark.parametrize(
    "ordering",
    [("-pk",), ("-last_login", "-pk"), ("last_login", "username"), ("-date_joined", "pk")],
)
def test_a_page_of_few_matches_is_sorted_and_shows_the_rows_of_a_plain_page(ordering, django_user_model):
    """A few matches are sorted after they are found (COALESCE hides the ordering's index from the planner), and the
    page is the one Django's own paginator gives, NULLs where they were."""
    now = timezone.now()
    for n in range(23):
        django_user_model.objects.create(
            username=f"u{n:02d}", last_login=None if n % 4 == 0 else now - timedelta(hours=n % 5), date_joined=now
        )
    qs = django_user_model.objects.filter(username__startswith="u").order_by(*ordering)
    ours, plain = portal_paginator.EstimatedCountPaginator(qs, 5), Paginator(qs, 5)
    for number in ours.page_range:
        with CaptureQueriesContext(connection) as queries:
            rows = [u.username for u in ours.page(number)]
        assert rows == [u.username for u in plain.page(number)], number
        assert "ORDER BY COALESCE(" in queries[-1]["sql"]


def test_many_matches_keep_the_ordering_and_a_relations_own_ordering_is_kept(monkeypatch):

    # Ordering by a relation means its model's own ordering: restated as a column it would sort otherwise.
    qs = Permission.objects.filter(codename__startswith="add_").order_by("content_type", "codename")
    assert portal_paginator.sorted_not_walked(qs).query.order_by == qs.query.order_by
    assert [p.pk for p in portal_paginator.EstimatedCountPaginator(qs, 5).page(2)] == [
        p.pk for p in Paginator(qs, 5).page(2)
    ]
    monkeypatch.setattr(portal_paginator, "EXACT_LIMIT", 3)
    many = portal_paginator.EstimatedCountPaginator(Permission.objects.order_by("-pk"), 5)
    with CaptureQueriesContext(connection) as queries:
        list(many.page(1))
    assert "COALESCE" not in queries[-1]["sql"]


def _setting(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("deep", [False, True])
def test_a_long_lists_walk_that_runs_over_is_stopped_and_its_matches_sorted(monkeypatch, django_user_model, deep):
    """More matches than the exact count (up to SORT_LIMIT): read along the ordering's index for WALK_MS at most; a
    walk that runs over (its matches at the far end of the index) is stopped and the matches sorted: the same page
    either way, and the session's statement timeout as it was."""
    monkeypatch.setattr(portal_paginator, "EXACT_LIMIT", 3)
    monkeypatch.setattr(portal_paginator, "WALK_MS", 30)
    monkeypatch.setattr(portal_paginator, "DEFERRED_FROM", 2 if deep else 1000)
    for n in range(14):
        django_user_model.objects.create(username=f"w{n:02d}")
    # Each row the walk meets costs it 5 ms, as a row read from disk would: fourteen run over 30 ms.
    slow = django_user_model.objects.filter(username__startswith="w").extra(
        where=["(SELECT true FROM pg_sleep(0.005 + 0 * auth_user.id))"]
    )
    quick = django_user_model.objects.filter(username__startswith="w")
    before = _setting("statement_timeout")
    # Past SORT_LIMIT matches a stopped walk could cost more than it saves: it runs as planned.
    for qs, sort_limit, stopped in [(slow, 100, True), (quick, 100, False), (slow, 3, False)]:
        monkeypatch.setattr(portal_paginator, "SORT_LIMIT", sort_limit)
        qs = qs.order_by("-date_joined", "-pk")
        # The planner's estimate of so few rows says EXACT_LIMIT + 1: two pages of two.
        ours, plain = portal_paginator.EstimatedCountPaginator(qs, 2), Paginator(qs, 2)
        with CaptureQueriesContext(connection) as queries:
            rows = [u.username for u in ours.page(2)]
        assert rows == [u.username for u in plain.page(2)] == ["w11", "w10"]
        sorted_reads = [q["sql"] for q in queries if "ORDER BY COALESCE(" in q["sql"]]
        assert bool(sorted_reads) == stopped, queries.captured_queries
        assert _setting("statement_timeout") == before
