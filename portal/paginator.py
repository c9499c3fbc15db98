from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_LIMIT = 10_000


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
            import json

            plan = json.loads(plan)
        return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_LIMIT + 1)
