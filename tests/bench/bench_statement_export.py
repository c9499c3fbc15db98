"""Benchmark: exporting a 100,000-line statement as CSV and as XLSX (time and peak memory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python tests/bench/bench_statement_export.py

Needs 100,000 interceptions in the database (`manage.py scale_data --rows 100000` makes them; the
script runs it when there are fewer). Each export runs in a fresh process that downloads the file
through the admin view as finance would, so the peak RSS is the whole Django process's. Prints
figures; asserts nothing.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from common import Row, client_for, machine, print_table
from django.core.management import call_command

from interception.models import InterceptionOrder
from portal import roles
from settlement.models import Statement, StatementLine

LINES = 100_000


def bench_statement():
    """A statement of LINES lines over existing interceptions (lines not current: it never blocks a real one)."""
    existing = Statement.objects.filter(reference="BENCH-100K").first()
    if existing and existing.line_count == LINES:
        return existing
    if InterceptionOrder.objects.count() < LINES:
        call_command("scale_data", rows=LINES, prefix="BX")
    first = InterceptionOrder.objects.select_related("merchant", "outlet").order_by("id").first()
    statement = Statement.objects.create(
        merchant=first.merchant,
        outlet=first.outlet,
        reference="BENCH-100K",
        period_start="2026-01-01",
        period_end="2026-12-31",
        state="void",
    )
    rows = InterceptionOrder.objects.order_by("id").values_list("pk", "tracking_number", "result_at", "state", "fee")[
        :LINES
    ]
    StatementLine.objects.bulk_create(
        (
            StatementLine(
                statement=statement,
                interception_id=pk,
                tracking_number=t,
                occurred_at=at,
                result=s,
                amount=fee,
                live=False,
            )
            for pk, t, at, s, fee in rows.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )
    from django.db.models import Count, Sum

    totals = statement.lines.aggregate(n=Count("id"), total=Sum("amount"))
    Statement.objects.filter(pk=statement.pk).update(line_count=totals["n"], total=totals["total"])
    return Statement.objects.get(pk=statement.pk)


def peak_rss_mib():
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def export_once(statement_id, file_format):
    """In this (fresh) process: download the file, print seconds, bytes, RSS before and at peak (MiB)."""
    client = client_for("bench-finance", roles.FINANCE)
    before = peak_rss_mib()
    started = time.perf_counter()
    response = client.get(f"/admin/settlement/statement/{statement_id}/export/{file_format}/")
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    assert response.status_code == 200
    print(f"{seconds:.2f} {size} {before:.0f} {peak:.0f}")


def exports():
    statement = bench_statement()
    goals = {"csv": (5, 100), "xlsx": (20, 150)}
    rows = []
    for file_format, (goal_s, goal_mib) in goals.items():
        out = subprocess.run(
            [sys.executable, __file__, str(statement.pk), file_format],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        ).stdout.split()
        seconds, size, before, peak = float(out[0]), int(out[1]), float(out[2]), float(out[3])
        rows.append(
            Row(
                f"statement export: {statement.line_count:,} lines, {file_format.upper()} ({size / 2**20:.1f} MiB)",
                f"{seconds:.1f} s, peak RSS {peak:.0f} MiB ({before:.0f} before)",
                f"≤ {goal_s} s, ≤ {goal_mib} MiB",
                seconds <= goal_s and peak <= goal_mib,
            )
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3:
        export_once(int(sys.argv[1]), sys.argv[2])
    else:
        print(f"Machine: {machine()}")
        print_table(exports())
