import json

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, Func, OrderBy
from django.utils.functional import cached_property

EXACT_LIMIT = 10_000
# From this offset on, a page first reads only the ids (an index-only walk), then loads just those rows.
DEFERRED_FROM = 1_000


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_LIMIT rows, then trusts PostgreSQL's planner.

    COUNT(*) over millions of rows costs seconds; past ten thousand nobody
    needs the exact number on a changelist.
    """

    @cached_property
    def count(self):
        qs = self.object_list
        if not hasattr(qs, "query"):
            return len(qs)
        capped = qs.order_by()[: EXACT_LIMIT + 1].count()
        if capped <= EXACT_LIMIT:
            return capped
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return qs.count()
        sql, params = qs.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_LIMIT + 1)

    def page(self, number):
        """A deep page without fetching, joining and discarding every row above it (OFFSET over whole rows); a
        page of a few matches sorts them instead of walking the ordering's index in search of them."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        qs = self.object_list
        if not hasattr(qs, "query"):
            return super().page(number)
        if self.count <= EXACT_LIMIT:
            qs = sorted_not_walked(qs)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom < DEFERRED_FROM:
            return self._get_page(qs[bottom:top], number, self)
        ids = list(qs.values_list("pk", flat=True)[bottom:top])
        rows = {obj.pk: obj for obj in qs.filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def sorted_not_walked(qs):
    """The same rows in the same order, sorted after they are found rather than met while walking an index.

    Given `ORDER BY id DESC LIMIT 100`, PostgreSQL walks the primary key backwards, expecting the matches to be
    spread evenly; when they are few and all at the far end (a tracking prefix of old parcels), it reads nearly
    the whole table first (0.96 s at 1M interceptions for 10,000 matches, against 22 ms sorted). Once the exact
    count says there are at most EXACT_LIMIT matches, sorting them costs no more than the count did. Each
    ordering term becomes COALESCE(term), which no index matches and which orders, NULLs included, as the term.
    An ordering this cannot restate exactly (a relation ordered by its model's own ordering, random) is kept.
    """
    if connections[qs.db].vendor != "postgresql":  # SQLite's coalesce() wants two arguments; the demo is small
        return qs
    query = qs.query
    terms = query.order_by or (query.get_meta().ordering if query.default_ordering else ())
    if not terms or query.extra_order_by:
        return qs
    wrapped = []
    for term in terms:
        if isinstance(term, str):
            name = term.lstrip("-")
            if name == "?" or not _plain_column(qs.model, name):
                return qs
            term = OrderBy(F(name), descending=term.startswith("-"))
        elif not isinstance(term, OrderBy):
            term = term.asc()
        wrapped.append(
            OrderBy(
                Func(term.expression, function="COALESCE"),
                descending=term.descending,
                nulls_first=term.nulls_first,
                nulls_last=term.nulls_last,
            )
        )
    return qs.order_by(*wrapped)


def _plain_column(model, name):
    """Whether ordering by `name` orders by one column of `model` (not by a related model's own ordering)."""
    if name == "pk":
        return True
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.concrete and not field.is_relation
