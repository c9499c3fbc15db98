import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


def admin_url(addr):
    """The address runserver will really serve for `addr` ("8001", "0.0.0.0:8000", "[::1]:8000"), as a link."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = "", addr
    return f"http://{host or '127.0.0.1'}:{port}/admin/"


class Command(BaseCommand):
    help = (
        "Serve the demo: the development server plus the sandbox carrier, the deadline runner, the "
        "notification sender and the key-figure runner, stopped together."
    )

    def add_arguments(self, parser):
        parser.add_argument("addr", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        helpers = [
            subprocess.Popen(manage + ["sandbox_carrier", "--loop"]),
            subprocess.Popen(manage + ["process_deadlines", "--loop"]),
            # The demo's e-mail backend is the console: the mails it would send are printed here.
            subprocess.Popen(manage + ["deliver_notifications", "--loop"]),
            subprocess.Popen(manage + ["update_kpis", "--loop"]),
        ]
        self.stdout.write(
            "Sandbox carrier, deadline runner, notification sender and key-figure runner started; "
            "they stop with the server."
        )
        self.stdout.write(f"The portal: {admin_url(addr)}")

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            subprocess.call(manage + ["runserver", addr])
        except KeyboardInterrupt:
            pass
        finally:
            for process in helpers:
                process.terminate()
            for process in helpers:
                process.wait(timeout=10)
