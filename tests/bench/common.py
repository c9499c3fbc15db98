"""What the benchmarks share: Django set up on DATABASE_URL, a signed-in client per role, timing, the table."""

import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
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

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))  # requests per changelist and dashboard figure
# Runs of the callbacks, the exports and the floors beside them; fewer for a quick look (BENCH_RUNS=1).
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# The anchors' own URLconf: the portal's URLs, a default-configured admin site and the plain callback view,
# which exist only in the benchmarks (tests/bench/anchor_urls.py).
ANCHOR_URLCONF = "tests.bench.anchor_urls"


@dataclass
class Row:
    benchmark: str
    figure: str
    goal: str = ""
    met: bool | None = None  # None: no goal
    anchor: str = ""  # the anchor's figure, measured in the same run
    ratio: str = ""  # the figure over its anchor's


def ratio(ours, anchor):
    return f"{ours / anchor:.2f}×" if anchor else "n/a"


def client_for(username, role, outlets=()):
    from interception.models import OutletMembership

    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=role))
    for outlet in outlets:
        OutletMembership.objects.get_or_create(user=user, outlet=outlet)
    client = Client()
    client.force_login(user)
    return client


def timed_get(client, url, rounds=ROUNDS):
    """(p50 ms, p95 ms, queries, KiB) of `rounds` GETs after one warm-up.

    The queries are the fewest of the rounds: once a minute a request also renews the session (SessionIdleMiddleware,
    two or three statements more), and on a slow page which request that falls on is chance.
    """
    client.get(url)
    timings, counts = [], []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(queries))
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], min(counts), len(response.content) / 1024


def timed_pair(client, url, anchor_url, rounds=ROUNDS):
    """timed_get of `url` and of its anchor's `anchor_url`, their requests alternating (after a warm-up of
    each), so a busy moment of a shared machine falls on both; the queries are the fewest, as timed_get's."""
    client.get(url), client.get(anchor_url)
    timings = {url: [], anchor_url: []}
    last, counts = {}, {url: [], anchor_url: []}
    for _ in range(rounds):
        for each in (url, anchor_url):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(each)
                timings[each].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (each, response.status_code)
            counts[each].append(len(queries))
            last[each] = len(response.content) / 1024
    return [(statistics.median(timings[each]), min(counts[each]), last[each]) for each in (url, anchor_url)]


def machine():
    cpu = os.cpu_count()
    memory = next(
        (
            int(line.split()[1]) // 2**20
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return (
        f"{cpu} CPU, {memory} GiB, {connection.vendor} {version.split()[0]} ({connection.settings_dict['NAME']}); "
        f"Python {platform.python_version()} at {python_speed():.0f} M loop steps/s"
    )


def python_speed(steps=5_000_000):
    """Millions of plain-loop steps per second on one core: how fast this machine runs Python today, so
    figures taken on different days (or shared, throttled virtual machines) can be compared."""
    started, total = time.perf_counter(), 0
    for i in range(steps):
        total += i
    return steps / (time.perf_counter() - started) / 1e6


def print_table(rows, title=""):
    if title:
        print(f"\n{title}")
    fields = ("benchmark", "figure", "anchor", "ratio", "goal")
    header = Row("benchmark", "figure", "goal", anchor="anchor", ratio="ratio")
    widths = [max(len(getattr(r, f)) for r in [*rows, header]) for f in fields]
    print("| " + " | ".join(f"{getattr(header, f):<{w}}" for f, w in zip(fields, widths)) + " | met |")
    print("| " + " | ".join("-" * w for w in widths) + " | --- |")
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        print("| " + " | ".join(f"{getattr(r, f):<{w}}" for f, w in zip(fields, widths)) + f" | {met} |")
