"""Changelist pages at any depth show the same rows in the same order, whatever way they are fetched."""

import pytest
from django.contrib.auth.models import Permission
from django.core.paginator import Paginator

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
