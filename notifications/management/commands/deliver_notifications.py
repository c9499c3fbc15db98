from django.core.management.base import BaseCommand
from django.utils import timezone

from kernel.runner import run
from notifications.delivery import deliver


class Command(BaseCommand):
    help = (
        "Send what waits in the outbox: messages to group robots and e-mail (each channel's rate limit kept, "
        "failures retried with backoff) and merchants' webhooks (retried for 24 hours). Safe to run in several "
        "processes at once; --loop repeats every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=10.0)

    def handle(self, *args, loop, interval, **options):
        def work():
            report = deliver()
            if report or not loop:
                return (
                    f"{timezone.localtime():%Y-%m-%d %H:%M:%S} sent {report.sent} notifications "
                    f"({report.failed} failed, {report.too_fast} too fast, {report.given_up} given up), "
                    f"delivered {report.webhooks_delivered} webhooks ({report.webhooks_failed} failed, "
                    f"{report.webhooks_given_up} given up)"
                )
            return ""

        run(self, work, loop=loop, interval=interval)
