from django.core.management.base import BaseCommand
from django.utils import timezone

from kernel.runner import run
from kpi.rollup import kpis_update


class Command(BaseCommand):
    help = (
        "Keep the daily key figures (docs/kpis.md): recount the days that the newest timeline entries touched. "
        "Safe to run in several processes at once (they take turns); --loop repeats every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=30.0)

    def handle(self, *args, loop, interval, **options):
        def work():
            entries, days = kpis_update()
            if entries or not loop:  # the passes that only read the last minutes again stay quiet
                listed = ", ".join(f"{d:%Y-%m-%d}" for d in days) or "none"
                return (
                    f"{timezone.localtime():%Y-%m-%d %H:%M:%S} read {entries} new timeline entries, "
                    f"recounted days: {listed}"
                )
            return ""

        run(self, work, loop=loop, interval=interval)
