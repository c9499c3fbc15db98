"""Fill the database with N interceptions (and their parcels and after-sales) for benchmarks.

PostgreSQL: COPY (psycopg 3 `cursor.copy` / `write_row`) with ids reserved from the sequences, so the three
tables are written in one pass without reading anything back; from 100,000 rows on, the secondary indexes are
dropped before the load and built again after it, and foreign-key triggers are off while it loads (the rows are
consistent by construction: tests/portal/test_scale_data.py checks it). Elsewhere (the SQLite demo): bulk_create of
the same rows.
"""

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from interception.models import (
    AfterSale,
    Carrier,
    Contract,
    EwaybillAccount,
    InterceptionOrder,
    Merchant,
    Outlet,
    Parcel,
    Platform,
)

CHUNK = 200_000  # rows per transaction: three COPYs each
BULK_BATCH = 5_000
FAST_LOAD_FROM = 100_000  # below this, indexes stay and every foreign key is checked as usual
OUTLETS_PER_CARRIER = 50
INTERCEPTIONS_PER_MERCHANT = 2_000
CONTRACTS_PER_MERCHANT = 4
# (interception state, after-sale state, share)
OUTCOMES = [
    ("returned", "refunded", 0.50),
    ("failed", "refunded", 0.12),
    ("failed", "refused", 0.05),
    ("failed", "intercepting", 0.03),
    ("succeeded", "refunded", 0.10),
    ("returning", "refunded", 0.10),
    ("intercepting", "intercepting", 0.05),
    ("return_failed", "refunded", 0.05),
]
RESULT_AFTER = timedelta(hours=20)

PARCEL_COLUMNS = [
    "id",
    "carrier_id",
    "tracking_number",
    "outlet_id",
    "merchant_id",
    "platform_id",
    "order_number",
    "last_status",
    "last_event_at",
    "created_at",
]
AFTER_SALE_COLUMNS = [
    "id",
    "number",
    "merchant_id",
    "platform_id",
    "parcel_id",
    "kind",
    "amount",
    "state",
    "created_at",
    "intercepting_since",
    "window_ends_at",
    "decided_at",
]
INTERCEPTION_COLUMNS = [
    "id",
    "parcel_id",
    "after_sale_id",
    "tracking_number",
    "merchant_id",
    "outlet_id",
    "carrier_id",
    "platform_id",
    "contract_id",
    "settlement_mode",
    "fee",
    "fee_includes_return",
    "chargeable",
    "state",
    "requested_at",
    "submitted_at",
    "carrier_ref",
    "result_at",
    "result_source",
    "failure_code",
    "failure_text",
    "return_scan_at",
    "returned_at",
    "return_failed_at",
    "return_loss",
]
TABLES = [(Parcel, PARCEL_COLUMNS), (AfterSale, AFTER_SALE_COLUMNS), (InterceptionOrder, INTERCEPTION_COLUMNS)]
SUCCESS = {str(s) for s in InterceptionOrder.SUCCESS_STATES}
AMOUNT = Decimal("59.00")


class Command(BaseCommand):
    help = "Add --rows interceptions (default 1,000,000) with their parcels and after-sales, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--prefix", default="S", help="Code prefix of the generated rows (run again with another).")
        parser.add_argument(
            "--fast-load",
            choices=["auto", "yes", "no"],
            default="auto",
            help="PostgreSQL: drop secondary indexes and foreign-key triggers during the load "
            f"(auto: from {FAST_LOAD_FROM:,} rows).",
        )

    def handle(self, *args, rows, prefix, fast_load="auto", **options):
        started = time.monotonic()
        rng = random.Random(rows)
        contracts = [
            (c.pk, c.merchant_id, c.outlet_id, c.outlet.carrier_id, c.platform_id, c.settlement_mode, c.fee)
            + (c.fee_includes_return,)
            for c in self._contracts(prefix, max(1, rows // INTERCEPTIONS_PER_MERCHANT))
        ]
        self.stdout.write(f"  {len(contracts):,} active contracts ({time.monotonic() - started:.1f} s)")
        postgres = connection.vendor == "postgresql"
        fast = postgres and (fast_load == "yes" or (fast_load == "auto" and rows >= FAST_LOAD_FROM))
        first_ids = [self._reserve(model, rows) for model, _ in TABLES]
        spent = {model: 0.0 for model, _ in TABLES}
        dropped = self._drop_indexes() if fast else []
        try:
            for start in range(0, rows, CHUNK if postgres else BULK_BATCH):
                stop = min(start + (CHUNK if postgres else BULK_BATCH), rows)
                tables = _rows(rng, prefix, contracts, first_ids, range(start, stop), timezone.now())
                with transaction.atomic():
                    if fast:
                        with connection.cursor() as cursor:
                            # Consistent by construction; skipping the per-row FK triggers halves the load.
                            cursor.execute("SET LOCAL session_replication_role = replica")
                    for (model, columns), table_rows in zip(TABLES, tables, strict=True):
                        began = time.monotonic()
                        if postgres:
                            _copy(model, columns, table_rows)
                        else:
                            model.objects.bulk_create([model(**dict(zip(columns, r, strict=True))) for r in table_rows])
                        spent[model] += time.monotonic() - began
                if stop % 1_000_000 == 0 or stop == rows or (not postgres and stop % 100_000 == 0):
                    self.stdout.write(f"  {stop:,} interceptions ({time.monotonic() - started:.0f} s)")
        finally:
            if dropped:
                self._create_indexes(dropped, spent)
        for model, _ in TABLES:
            self.stdout.write(f"  {model._meta.db_table}: {spent[model]:.1f} s")
        if postgres:
            began = time.monotonic()
            with connection.cursor() as cursor:
                for model, _ in TABLES:
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
            self.stdout.write(f"  analyze: {time.monotonic() - began:.1f} s")
        self.stdout.write(f"{rows:,} interceptions in {time.monotonic() - started:.1f} s")

    def _reserve(self, model, rows):
        """The first of `rows` consecutive ids taken for `model`; nobody else gets them."""
        table = model._meta.db_table
        if connection.vendor != "postgresql":
            return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH s AS (SELECT pg_get_serial_sequence(%s, 'id') AS seq),"
                " n AS (SELECT seq, nextval(seq) AS v FROM s) SELECT v, setval(seq, v + %s - 1) FROM n",
                [table, max(rows, 1)],
            )
            return cursor.fetchone()[0]

    def _drop_indexes(self):
        """Drop the non-unique indexes of the three tables; return what builds them again."""
        dropped = []
        with connection.cursor() as cursor:
            for model, _ in TABLES:
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
                    " JOIN pg_class i ON i.oid = x.indexrelid"
                    " WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary",
                    [model._meta.db_table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
                    dropped.append((model, name, definition))
        self.stdout.write(f"  dropped {len(dropped)} secondary indexes for the load")
        return dropped

    def _create_indexes(self, dropped, spent):
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for model, name, definition in dropped:
                began = time.monotonic()
                cursor.execute(definition)
                spent[model] += time.monotonic() - began
                self.stdout.write(f"  index {name}: {time.monotonic() - began:.1f} s")
            cursor.execute("RESET maintenance_work_mem")

    def _contracts(self, prefix, merchants_needed):
        outlets = []
        for carrier in Carrier.objects.all():
            for n in range(OUTLETS_PER_CARRIER):
                outlet, _ = Outlet.objects.get_or_create(
                    carrier=carrier, code=f"{prefix}-{carrier.code}-{n:03d}", defaults={"name": f"规模网点{n}"}
                )
                outlets.append(outlet)
        platforms = list(Platform.objects.all())
        contracts = []
        with transaction.atomic():
            merchants = Merchant.objects.bulk_create(
                [
                    Merchant(code=f"{prefix}M{n:08d}", name=f"规模测试店铺{n}", platform=platforms[n % len(platforms)])
                    for n in range(merchants_needed)
                ],
                batch_size=BULK_BATCH,
            )
            for index, merchant in enumerate(merchants):
                for k in range(CONTRACTS_PER_MERCHANT):
                    outlet = outlets[(index * CONTRACTS_PER_MERCHANT + k) % len(outlets)]
                    contracts.append(
                        Contract(
                            merchant=merchant,
                            outlet=outlet,
                            platform=merchant.platform,
                            settlement_mode="offline" if k % 2 else "online",
                            fee=Decimal("3.00"),
                            fee_includes_return=not k % 2,  # the online fee covers the return (R19)
                            state=Contract.State.ACTIVE,
                            decided_at=timezone.now(),
                        )
                    )
            EwaybillAccount.objects.bulk_create(
                [EwaybillAccount(merchant=c.merchant, outlet=c.outlet, platform=c.platform) for c in contracts],
                batch_size=BULK_BATCH,
            )
            contracts = Contract.objects.bulk_create(contracts, batch_size=BULK_BATCH)
        return contracts


def _rows(rng, prefix, contracts, first_ids, numbers, now):
    """The parcel, after-sale and interception rows of `numbers`, each state with the fields it implies."""
    states = [o[:2] for o in OUTCOMES]
    weights = [o[2] for o in OUTCOMES]
    first_parcel, first_sale, first_order = first_ids
    parcels, sales, orders = [], [], []
    count = len(contracts)
    for i, n in enumerate(numbers):
        contract_id, merchant_id, outlet_id, carrier_id, platform_id, mode, fee, includes_return = contracts[n % count]
        order_state, sale_state = rng.choices(states, weights)[0]
        # Requested within the last year, its result (20 h later) never in the future.
        at = now - RESULT_AFTER - timedelta(seconds=rng.randrange(365 * 86400))
        result_at = None if order_state == "intercepting" else at + RESULT_AFTER
        scan_at = min(result_at + timedelta(days=1), now) if order_state in SUCCESS - {"succeeded"} else None
        returned_at = min(result_at + timedelta(days=3), now) if order_state == "returned" else None
        # A failed return carries its time, as the transition sets it (the KPI roll-ups count it on that day).
        return_failed_at = min(result_at + timedelta(days=5), now) if order_state == "return_failed" else None
        offset = numbers.start + i
        parcel_id, sale_id, order_id = first_parcel + offset, first_sale + offset, first_order + offset
        tracking = f"{prefix}{n:012d}"
        status = order_state if order_state in ("returning", "returned") else "in_transit"
        parcels.append(
            (
                parcel_id,
                carrier_id,
                tracking,
                outlet_id,
                merchant_id,
                platform_id,
                f"{prefix}O{n}",
                status,
                returned_at or scan_at or result_at or at,
                at - timedelta(days=1),
            )
        )
        sales.append(
            (
                sale_id,
                f"{prefix}A{n:012d}",
                merchant_id,
                platform_id,
                parcel_id,
                "refund_only",
                AMOUNT,
                sale_state,
                at,
                at,
                at + timedelta(days=5),
                result_at if sale_state in ("refunded", "refused") else None,
            )
        )
        failed = order_state == "failed"
        orders.append(
            (
                order_id,
                parcel_id,
                sale_id,
                tracking,
                merchant_id,
                outlet_id,
                carrier_id,
                platform_id,
                contract_id,
                mode,
                fee,
                includes_return,
                order_state in SUCCESS,  # charged on success, not on failure: the model's defaults
                order_state,
                at,
                at,
                f"SCALE{n}",
                result_at,
                "" if result_at is None else "callback",
                "NOT_INTERCEPTABLE" if failed else "",
                "已派送，无法拦截" if failed else "",
                scan_at,
                returned_at,
                return_failed_at,
                "lost" if order_state == "return_failed" else "",
            )
        )
    return parcels, sales, orders


def _copy(model, columns, rows):
    """COPY `rows` (values of `columns`) into the model's table; every other column gets the model's default."""
    fields = [f for f in model._meta.concrete_fields if f.column not in columns]
    tail = []
    for field in fields:
        value = field.get_default()
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name} has no default: give scale_data a value for it")
        tail.append(field.get_db_prep_save(value, connection))
    tail = tuple(tail)
    names = ", ".join(f'"{c}"' for c in [*columns, *(f.column for f in fields)])
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row + tail)
