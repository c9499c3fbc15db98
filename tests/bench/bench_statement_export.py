"""Benchmark: exporting a 100,000-line statement as CSV and as XLSX (time and peak memory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python tests/bench/bench_statement_export.py

Needs 100,000 interceptions in the database (`manage.py scale_data --rows 100000` makes them; the
script runs it when there are fewer). Each export runs in a fresh process that downloads the file
through the admin view as finance would, so the peak RSS is the whole Django process's. Prints
figures; asserts nothing.

The CSV's anchor is its floor, timed in the same run, alternating with the export: PostgreSQL's own
`COPY (SELECT … the same columns, times converted to Asia/Shanghai …) TO STDOUT (FORMAT csv)` read through
psycopg's `cursor.copy`. Issue #20's goal is the CSV within 2× of it.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from common import Row, client_for, machine, print_table
from django.core.management import call_command
from django.db import connection

from interception.models import InterceptionOrder
from portal import roles
from settlement.models import Statement, StatementLine

LINES = 100_000
ROUNDS = 3
COPY_RATIO = 2  # issue #20: the CSV export within 2× of COPY
COPY_SQL = """
    COPY (
        SELECT row_number() OVER (ORDER BY id), tracking_number,
               to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),
               result, kind, amount, reason, interception_id
        FROM settlement_statementline WHERE statement_id = %s ORDER BY id
    ) TO STDOUT (FORMAT csv)
"""


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
    """In this (fresh) process: download the file twice, print the second's seconds, bytes, RSS before and at
    peak (MiB)."""
    client = client_for("bench-finance", roles.FINANCE)
    url = f"/admin/settlement/statement/{statement_id}/export/{file_format}/"
    before = peak_rss_mib()
    timings = []
    for _ in range(2):  # the first request of a process also loads code and catalogs: time the second
        started = time.perf_counter()
        response = client.get(url)
        size = sum(len(chunk) for chunk in response.streaming_content)
        timings.append(time.perf_counter() - started)
    seconds = timings[-1]
    peak = peak_rss_mib()
    assert response.status_code == 200
    print(f"{seconds:.2f} {size} {before:.0f} {peak:.0f}")


def copy_floor(statement_id):
    """(seconds, bytes) of the statement's lines through COPY … TO STDOUT, read as a client reads a download."""
    started, size = time.perf_counter(), 0
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_SQL, [statement_id]) as copy:
        for block in copy:
            size += len(block)
    return time.perf_counter() - started, size


def export_in_fresh_process(statement_id, file_format):
    out = subprocess.run(
        [sys.executable, __file__, str(statement_id), file_format],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout.split()
    return float(out[0]), int(out[1]), float(out[2]), float(out[3])


def exports():
    statement = bench_statement()
    goals = {"csv": (5, 100), "xlsx": (20, 150)}
    rows, csv_seconds, floors = [], [], []
    for _ in range(ROUNDS):  # alternating, so a busy moment of a shared machine hits both
        floors.append(copy_floor(statement.pk)[0])
        csv_seconds.append(export_in_fresh_process(statement.pk, "csv"))
    for file_format, (goal_s, goal_mib) in goals.items():
        if file_format == "csv":
            seconds, size, before, peak = sorted(csv_seconds)[len(csv_seconds) // 2]
        else:
            seconds, size, before, peak = export_in_fresh_process(statement.pk, file_format)
        rows.append(
            Row(
                f"statement export: {statement.line_count:,} lines, {file_format.upper()} ({size / 2**20:.1f} MiB)",
                f"{seconds:.1f} s, peak RSS {peak:.0f} MiB ({before:.0f} before)",
                f"≤ {goal_s} s, ≤ {goal_mib} MiB",
                seconds <= goal_s and peak <= goal_mib,
            )
        )
    seconds, floor = sorted(csv_seconds)[len(csv_seconds) // 2][0], sorted(floors)[len(floors) // 2]
    rows.append(
        Row(
            f"statement CSV vs COPY ({statement.line_count:,} lines, median of {ROUNDS})",
            f"{seconds:.2f} s; COPY {floor:.2f} s: {seconds / floor:.1f}×",
            f"≤ {COPY_RATIO}× COPY",
            seconds <= COPY_RATIO * floor,
        )
    )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3:
        export_once(int(sys.argv[1]), sys.argv[2])
    else:
        print(f"Machine: {machine()}")
        print_table(exports())
