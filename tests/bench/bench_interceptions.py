"""Benchmarks: the big changelists and the dashboard at scale, and carrier callbacks under gunicorn.

Part of `make bench` (tests/bench/run.py, see the README); alone:
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

from common import ROOT, Row, client_for, machine, print_table, timed_get

from interception import carriers
from interception.models import Carrier, InterceptionOrder, Outlet
from portal import roles

PORT = 8899
LIST_GOAL_MS, LIST_GOAL_QUERIES, DASHBOARD_GOAL_MS = 150, 10, 300


def changelists():
    client = client_for("bench-cs", roles.CUSTOMER_SERVICE)
    outlet = Outlet.objects.filter(code__startswith="S-").order_by("id").first()
    sample = InterceptionOrder.objects.order_by("-id").values_list("tracking_number", flat=True).first()
    base = "/admin/interception/interceptionorder/"
    urls = {
        "interceptions, no filter": base,
        "interceptions, state=failed": base + "?state__exact=failed",
        "interceptions, outlet": base + f"?outlet__id__exact={outlet.pk}",
        "interceptions, carrier + offline": base + f"?carrier__id__exact={outlet.carrier_id}"
                                                   "&settlement_mode__exact=offline",
        "interceptions, created 1 week": base + "?requested_at__range__gte=2026-06-01&requested_at__range__lte=2026-06-07",
        "interceptions, result 24 h": base + "?result_within=24h",
        "interceptions, tracking exact": base + f"?q={sample}",
        "interceptions, tracking prefix": base + f"?q={sample[:9]}",
        "interceptions, page 200": base + "?p=200",
        "after-sales, no filter": "/admin/interception/aftersale/",
        "after-sales, windows overdue": "/admin/interception/aftersale/?window=overdue",
        "contracts, pending": "/admin/interception/contract/?state__exact=pending",
    }
    rows = []
    for label, url in urls.items():
        p50, _p95, queries, kib = timed_get(client, url)
        rows.append(Row(f"changelist: {label}", f"p50 {p50:.0f} ms, {queries} queries, {kib:.0f} KiB",
                        f"≤ {LIST_GOAL_MS} ms, ≤ {LIST_GOAL_QUERIES} queries",
                        p50 <= LIST_GOAL_MS and queries <= LIST_GOAL_QUERIES))
    return rows


def dashboards():
    outlet = Outlet.objects.filter(code__startswith="S-").order_by("id").first()
    rows = []
    for label, client in [("supervisor", client_for("bench-supervisor", roles.SUPERVISOR)),
                          ("customer service", client_for("bench-cs", roles.CUSTOMER_SERVICE)),
                          ("outlet staff, 1 outlet", client_for("bench-outlet", roles.OUTLET_STAFF, [outlet]))]:
        p50, _p95, queries, kib = timed_get(client, "/admin/")
        rows.append(Row(f"dashboard: {label}", f"p50 {p50:.0f} ms, {queries} queries, {kib:.0f} KiB",
                        f"≤ {DASHBOARD_GOAL_MS} ms", p50 <= DASHBOARD_GOAL_MS))
    return rows


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
    rate, p99 = total / elapsed, latencies[int(len(latencies) * 0.99) - 1]
    return [Row(f"carrier callbacks: gunicorn {workers} sync workers, {threads} clients",
                f"{rate:.0f} req/s, p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms "
                f"({statuses.get(200, 0):,} of {total:,} answered 200)",
                "≥ 300 req/s, p99 ≤ 100 ms", rate >= 300 and p99 <= 100)]


if __name__ == "__main__":
    print(f"Machine: {machine()}; {InterceptionOrder.objects.count():,} interceptions")
    print_table(changelists() + dashboards() + callbacks())
