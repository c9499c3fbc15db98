from django.core.management.base import BaseCommand
from django.utils import timezone

from interception import services
from kernel.runner import run


class Command(BaseCommand):
    help = (
        "Apply expired handling windows (R15), retry carrier submissions and ask carriers about "
        "interceptions they have been silent on for CARRIER_POLL_HOURS, subscribe new parcels' tracking "
        "(kuaidi100), warn of handling windows ending soon, send the outlets' daily digest and alert supervisors of "
        "failing carriers. Safe to run in several "
        "processes at once; --loop repeats every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=30.0)

    def handle(self, *args, loop, interval, **options):
        def work():
            report = services.deadlines_process()
            if any(vars(report).values()) or not loop:
                return (
                    f"{timezone.localtime():%Y-%m-%d %H:%M:%S} refunded {report.refunded} after-sales, "
                    f"retried {report.submitted} submissions, asked carriers about {report.polled} "
                    f"silent interceptions ({report.answered} answered), subscribed the tracking of "
                    f"{report.subscribed} parcels, forgot {report.pruned} old carrier calls; warned of "
                    f"{report.warned} handling windows, sent {report.digests} digests and "
                    f"{report.alerts} carrier alerts"
                )
            return ""

        run(self, work, loop=loop, interval=interval)
