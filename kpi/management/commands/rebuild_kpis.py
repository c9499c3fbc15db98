import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from kpi.rollup import kpis_rebuild


def _day(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a day (YYYY-MM-DD): {text!r}") from None


class Command(BaseCommand):
    help = (
        "Recount the daily key figures of every day from --from to --to (Asia/Shanghai calendar days, inclusive) "
        "from the source rows, replacing what was there. The runner (update_kpis) uses the same recount."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, type=_day, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, type=_day, metavar="YYYY-MM-DD")

    def handle(self, *args, first, last, **options):
        if last < first:
            raise CommandError("--to is before --from.")
        started = time.monotonic()
        rows = kpis_rebuild(first, last)
        self.stdout.write(
            f"Recounted {(last - first).days + 1} days from {first} to {last}: {rows} rows "
            f"in {time.monotonic() - started:.1f} s"
        )
