"""One pass, or a pass every N seconds until interrupted: what the background commands share."""

import time

from django.db import close_old_connections


def run(command, work, *, loop, interval):
    while True:
        close_old_connections()
        started = time.monotonic()
        summary = work()
        if summary:
            command.stdout.write(summary)
        if not loop:
            return
        try:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            return
