"""CSV exports formatted by PostgreSQL (kernel.sql_csv) write the very bytes of the Python path."""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from interception.models import InterceptionOrder
from kernel import sql_csv
from portal import roles
from settlement.models import Statement, StatementLine
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
# What safe_cell and the csv module treat specially, with ordinary text between
TRICKY = [
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    " ",
    ",",
    '"',
    "'",
    "\u3000",
    "\xa0",
    "\x1c",
    "\u2028",
    "\\",
    "\x0b",
    "\x08",
    "a",
    "中",
    "1",
]


def tricky_texts(n, seed=20):
    rng = random.Random(seed)
    fixed = [
        "",
        "=1+1",
        " +cmd",
        "\t@x",
        "\r=",
        'a,"b"',
        "two\nlines",
        "\u3000=SUM(A1)",
        "-5",
        "'=x",
        '退回,"x"',
        "a\\nb\\",
        "\\\t\\r",
    ]
    return fixed + ["".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def body(response):
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content)


def both_paths(client, url, monkeypatch):
    """(the PostgreSQL path's bytes, the Python path's bytes) of one download."""
    taken = []

    def spy(queryset, cells, lines=sql_csv.lines):
        taken.append(lines(queryset, cells))
        return taken[-1]

    with monkeypatch.context() as patch:
        patch.setattr(sql_csv, "lines", spy)
        fast = body(client.get(url))
    assert taken and taken[0] is not None, "the database did not write the lines"
    with monkeypatch.context() as patch:
        patch.setattr(sql_csv, "supported", lambda queryset: False)
        slow = body(client.get(url))
    return fast, slow


@pytest.fixture
def frozen(monkeypatch):
    """The statement's 'exported at' line names the second; both downloads see the same one."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)


@pytest.mark.parametrize("language, piece", [("en", None), ("zh-hans", None), ("en", 64)])
def test_r20_statement_csv_from_postgresql_is_byte_identical_to_the_python_path(
    client, monkeypatch, frozen, language, piece
):
    if piece:  # rows cut across the pieces the download is sent in
        monkeypatch.setattr(sql_csv, "PIECE", piece)
    contract = factories.active_contract(fee="4.50")
    orders = [factories.intercepted(contract, at=datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=SH))]
    orders.append(factories.intercepted(contract, at=datetime(2026, 12, 31, 16, 0, tzinfo=ZoneInfo("UTC"))))
    # One line whose fee covered the return shipping, one whose did not (R19): both labels on both paths.
    InterceptionOrder.objects.filter(pk=orders[0].pk).update(fee_includes_return=True)
    statement = Statement.objects.create(
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start="2026-11-01",
        period_end="2026-12-31",
        reference='=cmd,"1"',
    )
    lines = [
        StatementLine(
            statement=statement,
            interception=o,
            tracking_number=o.tracking_number,
            occurred_at=o.result_at,
            result="succeeded",
            amount=o.fee,
        )
        for o in orders
    ]
    texts = tricky_texts(150)
    base = datetime(2026, 3, 8, 15, 59, 59, 500_000, tzinfo=ZoneInfo("UTC"))
    for n, text in enumerate(texts):
        lines.append(
            StatementLine(
                statement=statement,
                kind="adjustment",
                tracking_number=text[:40],
                occurred_at=None if n % 3 == 0 else base + timedelta(hours=7 * n),
                result=text[:16],
                amount=Decimal(f"{(-1) ** n * n}.{n % 100:02d}"),
                reason=text or "x",
            )
        )
    StatementLine.objects.bulk_create(lines)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(factories.user("fin", roles.FINANCE))
    fast, slow = both_paths(client, f"/admin/settlement/statement/{statement.pk}/export/csv/", monkeypatch)
    assert fast.startswith("\ufeff".encode())
    assert fast == slow
    assert fast.count(b"\r\n") >= len(lines) + 11  # the header, every line, the total
    included, separate = {"en": ("fee includes return shipping", "return shipping charged separately")}.get(
        language, ("拦截费含退回运费", "退回运费另计")
    )
    assert fast.decode("utf-8-sig").count(f",{included},") == 1 and fast.decode("utf-8-sig").count(f",{separate},") == 1


def test_r20_interception_csv_from_postgresql_is_byte_identical_to_the_python_path(client, monkeypatch):
    contract = factories.active_contract(fee="4.50")
    orders = [factories.intercepted(contract) for _ in range(3)] + [factories.started()]
    texts = tricky_texts(3, seed=7)
    for order, text in zip(orders, texts[1:]):
        InterceptionOrder.objects.filter(pk=order.pk).update(
            recipient_address=text, failure_code=text[:16], requested_at=datetime(2026, 1, 1, 0, 0, 1, 5, tzinfo=SH)
        )
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    fast, slow = both_paths(client, "/admin/interception/interceptionorder/export/", monkeypatch)
    assert fast == slow
    assert fast.count(b"\r\n") >= len(orders) + 1
    filtered, _slow = both_paths(
        client, "/admin/interception/interceptionorder/export/?settlement_mode__exact=online", monkeypatch
    )
    assert filtered == _slow and filtered.count(b"\r\n") == 1  # the header alone: the filters hold
