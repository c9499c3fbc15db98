from django.core.management.base import BaseCommand
from django.utils import timezone

from interception import sandbox_carrier
from kernel.runner import run


class Command(BaseCommand):
    help = (
        "Play the sandbox carrier: send the signed callbacks that are due for interceptions of carriers "
        "using the sandbox adapter. --loop repeats every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, loop, interval, **options):
        def work():
            sent = sandbox_carrier.tick()
            return (
                f"{timezone.localtime():%Y-%m-%d %H:%M:%S} sandbox carrier sent {sent} callbacks"
                if sent or not loop
                else ""
            )

        run(self, work, loop=loop, interval=interval)
