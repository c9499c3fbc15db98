"""Benchmark: the interception changelist at scale and the carrier callback throughput under gunicorn.

Run against a database filled by `manage.py scale_data` (see the README):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python tests/bench/bench_interceptions.py
Prints figures; asserts nothing.
"""
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from interception import carriers  # noqa: E402
from interception.models import Carrier, InterceptionOrder, Outlet  # noqa: E402
from portal import roles  # noqa: E402

PORT = 8899
ROUNDS = 15


def changelist():
    total = InterceptionOrder.objects.count()  # once, for the report
    user, _ = User.objects.get_or_create(username="bench-cs", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    client = Client()
    client.force_login(user)
    outlet = Outlet.objects.filter(code__startswith="S-").order_by("id").first()
    sample = InterceptionOrder.objects.order_by("-id").values_list("tracking_number", flat=True).first()
    base = "/admin/interception/interceptionorder/"
    urls = {
        "list, no filter": base,
        "state=failed": base + "?state__exact=failed",
        "outlet (autocomplete)": base + f"?outlet__id__exact={outlet.pk}",
        "carrier + offline": base + f"?carrier__id__exact={outlet.carrier_id}&settlement_mode__exact=offline",
        "created range (1 week)": base + "?requested_at__range__gte=2026-06-01&requested_at__range__lte=2026-06-07",
        "tracking exact": base + f"?q={sample}",
        "tracking prefix": base + f"?q={sample[:9]}",
        "page 200": base + "?p=200",
    }
    print(f"\nInterception changelist, {total:,} interceptions ({ROUNDS} requests each)")
    print(f"{'view':<26}{'p50 ms':>8}{'p95 ms':>8}{'queries':>9}{'KiB':>7}")
    for label, url in urls.items():
        client.get(url)
        timings = []
        for _ in range(ROUNDS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        print(f"{label:<26}{statistics.median(timings):>8.0f}{timings[int(len(timings) * 0.95) - 1]:>8.0f}"
              f"{len(queries):>9}{len(response.content) / 1024:>7.0f}")


def callbacks(total=3000, threads=8, workers=4):
    carrier = Carrier.objects.get(code="jt")
    if not carrier.callback_secret:
        carrier.callback_secret = "bench-secret"
        carrier.save(update_fields=["callback_secret"])
    numbers = list(InterceptionOrder.objects.filter(carrier=carrier).values_list("tracking_number", flat=True)[:5000])
    run = f"bench-{int(time.time())}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", str(workers),
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false"})
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/health/")
                break
            except OSError:
                time.sleep(0.1)
        latencies, statuses, lock = [], {}, threading.Lock()
        rng = random.Random(1)

        def send(worker):
            for i in range(worker, total, threads):
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)  # sync workers close each one
                body = json.dumps({"event_id": f"{run}-{i}", "type": "tracking",
                                   "tracking_number": rng.choice(numbers), "status": "in_transit",
                                   "occurred_at": "2026-11-20T10:00:00+08:00", "text": "到达转运中心"}).encode()
                headers = {"Content-Type": "application/json",
                           "X-Signature": carriers.sign(carrier.callback_secret, body, time.time())}
                started = time.perf_counter()
                conn.request("POST", "/api/v1/carriers/jt/events/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        pool = [threading.Thread(target=send, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()
    latencies.sort()
    print(f"\nCarrier callbacks through gunicorn ({workers} sync workers, {threads} concurrent clients)")
    print(f"  {total:,} signed tracking events in {elapsed:.1f} s: {total / elapsed:.0f} req/s, "
          f"p50 {statistics.median(latencies):.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1]:.0f} ms, "
          f"statuses {statuses}")


if __name__ == "__main__":
    print(f"Machine: {os.cpu_count()} CPU, database {connection.vendor} {connection.settings_dict['NAME']}")
    changelist()
    callbacks()
