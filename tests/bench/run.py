"""Every benchmark, one table: `make bench` (see docs/benchmarks.md).

Runs against DATABASE_URL (make bench passes BENCH_DATABASE_URL), which `scale_data` has filled; the
interception figures are only meaningful at 1,000,000 rows. Prints figures; asserts nothing.
"""

from bench_bulk_start import bulk_starts
from bench_decision_import import decision_import
from bench_interceptions import callbacks, changelists, dashboards, kuaidi100_pushes, lookups
from bench_statement_export import exports
from bench_uploads import uploads
from common import Row, machine, print_table

from interception.models import InterceptionOrder


def main():
    count = InterceptionOrder.objects.count()
    print(f"Machine: {machine()}; {count:,} interceptions")
    if count < 1_000_000:
        print("note: fewer than 1,000,000 interceptions; fill the database with scale_data first (docs/benchmarks.md)")
    rows = []
    for part in (
        changelists,
        dashboards,
        kuaidi100_pushes,
        lookups,
        callbacks,
        exports,
        decision_import,
        bulk_starts,
        uploads,
    ):
        try:
            rows += part()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            rows.append(Row(part.__name__, f"failed: {exc.__class__.__name__}: {exc}"))
        print(f"  {part.__name__}: done", flush=True)
    print_table(rows, "Results")


if __name__ == "__main__":
    main()
