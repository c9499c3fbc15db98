"""Benchmark: every kind of upload at its limit, each sent to a fresh gunicorn worker.

Part of `make bench`; alone:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python tests/bench/bench_uploads.py

Each case starts gunicorn with one sync worker, warms it up with a GET of the page, then sends the upload over
HTTP from a file on disk (as a browser would; Django's test client would build the body in the worker's own
memory) and prints the worker's resident-memory growth (peak VmHWM minus VmRSS before the upload, from /proc)
and the time to answer, beside the goals: at most 100 MiB, and a refused upload answered within 2 s.

Cases: a decision file at the row limit, every row an approval (a CSV of 10 MB, each approval with a reason,
and an XLSX; preview, then apply), an outlet's bill at the row limit (CSV and XLSX), an XLSX bomb (a few
hundred KiB that unpack to a million rows), an oversize file, a claim with six 10 MB photos, one with an 11 MB
photo and one with six 50 MB photos (both refused).
Every run adds two outlets with UPLOAD_MAX_ROWS pending applications each (approved by the run) and claims;
the first run also a draft statement of that many lines over existing interceptions (`scale_data` makes them
when there are too few). Needs the migrations applied. Prints figures; asserts nothing.
"""

import http.client
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

from common import ROOT, Row, client_for, machine, print_table
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from claims.models import Claim
from interception.models import (
    Carrier,
    Contract,
    EwaybillAccount,
    InterceptionOrder,
    Merchant,
    Outlet,
    Platform,
)
from portal import roles
from settlement.models import Statement, StatementLine

PORT = 8898
GOAL_MIB, REFUSED_S = 100, 2
IMPORT = "/admin/interception/contract/decisions/import/"
CLAIMS = "/api/v1/claims/"
ROWS = settings.UPLOAD_MAX_ROWS


# --- the worker ------------------------------------------------------------------------------------------------------


class Worker:
    """gunicorn with one sync worker; memory figures are the worker's (the master only forks it)."""

    def __init__(self, media_root):
        self.media_root = media_root

    def __enter__(self):
        env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false", "MEDIA_ROOT": str(self.media_root)}
        # A generous timeout: applying UPLOAD_MAX_ROWS decisions takes minutes (gunicorn's default is 30 s).
        self.master = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "-b",
                f"127.0.0.1:{PORT}",
                "-w",
                "1",
                "--timeout",
                "3600",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                connection.request("GET", "/health/")
                connection.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        children = Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children").read_text().split()
        self.pid = int(children[0])
        return self

    def __exit__(self, *exc):
        self.master.terminate()
        self.master.wait()

    def memory(self):
        """(VmRSS, VmHWM) of the worker in MiB."""
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.pid}/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


class Browser:
    """A signed-in session sending forms over HTTP, the body streamed from a temporary file."""

    def __init__(self, client):
        """`client`: a signed-in test client whose session is used, or None for an API client (a token)."""
        self.csrf = secrets.token_hex(16)  # a 32-character CSRF secret, sent as the cookie and in the form
        session = f"sessionid={client.cookies['sessionid'].value}; " if client is not None else ""
        self.cookie = f"{session}csrftoken={self.csrf}"

    def get(self, path):
        return self._send("GET", path, None, {})

    def post(self, path, fields=(), files=(), headers=None):
        """(status, body, seconds): a multipart POST of `fields` and `files` [(field, name, path)]."""
        boundary = uuid.uuid4().hex
        with tempfile.TemporaryFile() as body:
            for name, value in [("csrfmiddlewaretoken", self.csrf), *fields]:
                body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
            for field, filename, source_path in files:
                body.write(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"'
                    f"\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
                )
                with open(source_path, "rb") as source:
                    shutil.copyfileobj(source, body)
                body.write(b"\r\n")
            body.write(f"--{boundary}--\r\n".encode())
            size = body.tell()
            body.seek(0)
            return self._send(
                "POST",
                path,
                body,
                {
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(size),
                    **(headers or {}),
                },
            )

    def _send(self, method, path, body, headers):
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=3600)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers={"Cookie": self.cookie, **headers})
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole body was sent (a request refused from its length)
        response = connection.getresponse()
        content = response.read()
        return response.status, content.decode("utf-8", "replace"), time.perf_counter() - started


def measured(worker, send):
    """(status, body, seconds, growth MiB) of one upload: peak memory while answering minus memory before."""
    before, _peak = worker.memory()
    status, body, seconds = send()
    _rss, peak = worker.memory()
    return status, body, seconds, peak - before


def figure(seconds, growth):
    return f"{seconds:.1f} s, +{growth:.0f} MiB"


# --- the data --------------------------------------------------------------------------------------------------------


def pending_outlet(rows):
    """A new outlet with `rows` pending applications, and its staff's signed-in session."""
    run = f"UP{int(time.time() * 1000) % 10**10}"
    carrier, platform = Carrier.objects.get(code="jt"), Platform.objects.first()
    with transaction.atomic():
        outlet = Outlet.objects.create(carrier=carrier, code=run, name=f"上传压测网点{run}")
        merchants = Merchant.objects.bulk_create(
            [Merchant(code=f"{run}M{n:06d}", name=f"上传压测店铺{n}", platform=platform) for n in range(rows)],
            batch_size=5000,
        )
        EwaybillAccount.objects.bulk_create(
            [EwaybillAccount(merchant=m, outlet=outlet, platform=platform) for m in merchants], batch_size=5000
        )
        Contract.objects.bulk_create(
            [
                Contract(merchant=m, outlet=outlet, platform=platform, settlement_mode="offline", fee=Decimal("3.00"))
                for m in merchants
            ],
            batch_size=5000,
        )
    client = client_for(f"bench-{outlet.code}", roles.OUTLET_STAFF, [outlet])
    return outlet, client


def decision_rows(outlet, reason=""):
    """The outlet's export (resources.export_rows, as the staff download it) with every decision "approve"."""
    from django.contrib.auth.models import User

    from interception import resources

    user = User.objects.get(username=f"bench-{outlet.code}")
    decision = resources.COLUMNS.index("decision")
    yield resources.COLUMNS
    for row in resources.export_rows(user):
        row[decision], row[-1] = "approve", reason
        yield row


def ten_mb_reason(outlet, path):
    """A reason for every approval that brings the CSV up to the 10 MB limit: the biggest file at the row limit."""
    from kernel.spreadsheets import MAX_UPLOAD_BYTES

    write_csv(path, decision_rows(outlet))
    spare = (MAX_UPLOAD_BYTES - path.stat().st_size) // ROWS
    return ("同意" * spare)[: max(spare, 0) // 3]  # three bytes a character in UTF-8


def write_csv(path, rows):
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)


def write_xlsx(path, rows):
    """As Excel saves it: text in the shared-string table (XlsxWriter's default mode)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()


def xlsx_bomb(path, rows=1_000_000):
    """A workbook of a few hundred KiB whose sheet unpacks to `rows` rows (built here, streamed into the zip)."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
                'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'  # noqa: E501
                '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )
        book.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
            f'Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{ns}" xmlns:r="{rel}"><sheets>'
            f'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0"?><worksheet xmlns="{ns}"><sheetData>'.encode())
            header = "".join(
                f'<c r="{c}1" t="inlineStr"><is><t>{name}</t></is></c>'
                for c, name in zip("ABCDEF", ["kind", "id", "merchant", "fee", "decision", "reason"])
            )
            sheet.write(f'<row r="1">{header}</row>'.encode())
            line = b'<row><c t="inlineStr"><is><t>application</t></is></c></row>'  # rows may omit their number
            for _ in range(rows // 10_000):
                sheet.write(line * 10_000)
            sheet.write(b"</sheetData></worksheet>")


def bill_statement(rows):
    """A draft statement of `rows` lines over existing interceptions (lines not current: they block nothing),
    made the first time, and the outlet's bill of those lines."""
    from django.db.models import Count, Sum

    statement = next(
        (
            st
            for st in Statement.objects.filter(reference__startswith="BENCH-BILL", state="draft")
            if st.lines.count() == rows
        ),
        None,
    )
    if statement is None:
        if InterceptionOrder.objects.count() < rows:
            call_command("scale_data", rows=rows, prefix="UB")
        first = InterceptionOrder.objects.order_by("id").first()
        statement = Statement.objects.create(
            merchant_id=first.merchant_id,
            outlet_id=first.outlet_id,
            reference=f"BENCH-BILL-{rows}",
            period_start="2026-01-01",
            period_end="2026-12-31",
        )
        orders = InterceptionOrder.objects.order_by("id").values_list(
            "pk", "tracking_number", "result_at", "state", "fee"
        )[:rows]
        StatementLine.objects.bulk_create(
            (
                StatementLine(
                    statement=statement,
                    interception_id=pk,
                    tracking_number=t,
                    occurred_at=at,
                    result=s,
                    amount=fee or Decimal("3.00"),
                    live=False,
                )
                for pk, t, at, s, fee in orders
            ),
            batch_size=5000,
        )
        totals = statement.lines.aggregate(n=Count("id"), total=Sum("amount"))
        Statement.objects.filter(pk=statement.pk).update(line_count=totals["n"], total=totals["total"])
    bill = [["tracking_number", "date", "fee"]]
    bill += [
        [t, timezone.localtime(at or timezone.now()).strftime("%Y-%m-%d"), f"{amount:.2f}"]
        for t, at, amount in statement.lines.order_by("id").values_list("tracking_number", "occurred_at", "amount")
    ]
    return statement, bill


def damaged_return():
    """An interception whose return failed, reported damaged, with no claim yet."""
    order = (
        InterceptionOrder.objects.filter(state=InterceptionOrder.State.RETURN_FAILED)
        .exclude(pk__in=Claim.objects.values("interception"))
        .order_by("id")
        .first()
    )
    InterceptionOrder.objects.filter(pk=order.pk).update(return_loss="damaged")
    return order


def photo(path, megabytes):
    """A PNG of noise of about `megabytes` MB (noise does not compress: the file is as big as its pixels)."""
    from PIL import Image

    side = int((megabytes * 1e6 / 3) ** 0.5)
    Image.frombytes("RGB", (side, side), random.randbytes(side * side * 3)).save(path, format="PNG", compress_level=0)


# --- the cases -------------------------------------------------------------------------------------------------------


def decision_case(workdir, file_format):
    outlet, client = pending_outlet(ROWS)
    path = workdir / f"decisions.{file_format}"
    if file_format == "csv":
        write_csv(path, decision_rows(outlet, reason=ten_mb_reason(outlet, path)))
    else:
        write_xlsx(path, decision_rows(outlet))
    browser = Browser(client)
    with Worker(workdir / "media") as worker:
        browser.get(IMPORT)
        status, body, preview_s, preview_mib = measured(
            worker, lambda: browser.post(IMPORT, files=[("file", path.name, path)])
        )
    token = re.search(r'name="token" value="([^"]+)"', body)
    if status != 200 or token is None:
        return [
            Row(
                f"upload: decision file, {ROWS:,} approvals ({file_format.upper()})",
                f"preview answered {status} without a confirm button",
                f"≤ {GOAL_MIB} MiB",
                False,
            )
        ]
    with Worker(workdir / "media") as worker:  # the confirmation may reach any worker of any host
        browser.get(IMPORT)
        status, _body, apply_s, apply_mib = measured(
            worker, lambda: browser.post(IMPORT, fields=[("confirm", "1"), ("token", token.group(1))])
        )
    approved = Contract.objects.filter(outlet=outlet, state=Contract.State.ACTIVE).count()
    return [
        Row(
            f"upload: decision file, {ROWS:,} approvals ({file_format.upper()}, {path.stat().st_size / 2**20:.1f} MiB)",
            f"preview {figure(preview_s, preview_mib)}; apply {figure(apply_s, apply_mib)}; {approved:,} approved",
            f"≤ {GOAL_MIB} MiB each",
            max(preview_mib, apply_mib) <= GOAL_MIB and status == 302 and approved == ROWS,
        )
    ]


def bill_cases(workdir):
    statement, bill = bill_statement(ROWS)
    client = client_for("bench-finance", roles.FINANCE)
    browser = Browser(client)
    url = f"/admin/settlement/statement/{statement.pk}/reconcile/"
    rows = []
    for file_format, write in (("csv", write_csv), ("xlsx", write_xlsx)):
        path = workdir / f"bill.{file_format}"
        write(path, bill)
        with Worker(workdir / "media") as worker:
            browser.get(url)
            status, _body, seconds, growth = measured(
                worker, lambda: browser.post(url, files=[("bill", path.name, path)])
            )
        rows.append(
            Row(
                f"upload: outlet bill, {ROWS:,} lines ({file_format.upper()}, {path.stat().st_size / 2**20:.1f} MiB)",
                figure(seconds, growth) + f", answered {status}",
                f"≤ {GOAL_MIB} MiB",
                growth <= GOAL_MIB and status == 302,
            )
        )
    return rows


def refused_cases(workdir):
    outlet, client = pending_outlet(1)
    browser = Browser(client)
    bomb, oversize = workdir / "bomb.xlsx", workdir / "oversize.csv"
    xlsx_bomb(bomb)
    with open(oversize, "w") as handle:
        handle.write("kind,id,merchant,fee,decision,reason\n")
        while handle.tell() < 11 * 2**20:
            handle.write("application,1,M0,3.00,approve,\n" * 1000)
    rows = []
    for label, path in (
        (f"XLSX bomb ({bomb.stat().st_size / 2**10:.0f} KiB, 1,000,000 rows)", bomb),
        (f"oversize CSV ({oversize.stat().st_size / 2**20:.0f} MiB)", oversize),
    ):
        with Worker(workdir / "media") as worker:
            browser.get(IMPORT)
            status, body, seconds, growth = measured(
                worker, lambda: browser.post(IMPORT, files=[("file", path.name, path)])
            )
        refused = status == 200 and "errornote" in body
        rows.append(
            Row(
                f"upload refused: {label}",
                figure(seconds, growth) + ("" if refused else f", answered {status}"),
                f"≤ {REFUSED_S} s, ≤ {GOAL_MIB} MiB",
                refused and seconds <= REFUSED_S and growth <= GOAL_MIB,
            )
        )
    return rows


def merchant_api_key(merchant):
    """A new API client of the merchant, and its key."""
    from django.contrib.auth.models import User

    from interception import services
    from interception.models import ApiClient

    user = User.objects.create_user(username=f"bench-api-{merchant.code}-{secrets.token_hex(4)}")
    client = ApiClient.objects.create(user=user, name=f"bench {user.username}", merchant=merchant)
    return services.api_token_issue(client=client, actor=None).key


def photo_cases(workdir):
    rows = []
    # One photo above 10 MB is refused by the claim from its size (400); six of 50 MB pass REQUEST_MAX_MB (64 by
    # default) only if it was raised, else the request itself is refused (413) before it is read.
    for megabytes, count, expected in ((10, 6, {201}), (11, 1, {400}), (50, 6, {400, 413})):
        paths = []
        for n in range(count):
            paths.append(workdir / f"photo-{megabytes}-{n}.png")
            photo(paths[-1], min(megabytes, 10))
            if megabytes > 10:  # past the limit: noise appended after the image's end
                with open(paths[-1], "ab") as handle:
                    handle.write(random.randbytes(megabytes * 10**6 - paths[-1].stat().st_size))
        order = damaged_return()
        browser = Browser(None)
        headers = {"Authorization": f"Token {merchant_api_key(order.merchant)}"}
        goods = '[{"name": "保温杯", "quantity": 1, "specification": "500ml", "value": "59.90"}]'
        fields = [("interception", order.pk), ("kind", "damage"), ("goods", goods)]  # scale_data's have none
        with Worker(workdir / "media") as worker:
            browser.get("/health/")
            status, _body, seconds, growth = measured(
                worker,
                lambda: browser.post(
                    CLAIMS, fields=fields, files=[("photos", p.name, p) for p in paths], headers=headers
                ),
            )
        size = sum(p.stat().st_size for p in paths) / 2**20  # MiB
        if 201 in expected:
            rows.append(
                Row(
                    f"upload: claim with {count} photos of {megabytes} MB ({size:.1f} MiB)",
                    figure(seconds, growth) + f", answered {status}",
                    f"≤ {GOAL_MIB} MiB",
                    status in expected and growth <= GOAL_MIB,
                )
            )
        else:
            rows.append(
                Row(
                    f"upload refused: claim with {count} photo{'s' if count > 1 else ''} of {megabytes} MB "
                    f"({size:.1f} MiB)",
                    figure(seconds, growth) + f", answered {status}",
                    f"≤ {REFUSED_S} s, ≤ {GOAL_MIB} MiB",
                    status in expected and seconds <= REFUSED_S and growth <= GOAL_MIB,
                )
            )
    return rows


def uploads():
    workdir = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    try:
        return (
            refused_cases(workdir)
            + photo_cases(workdir)
            + bill_cases(workdir)
            + decision_case(workdir, "csv")
            + decision_case(workdir, "xlsx")
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(f"Machine: {machine()}; UPLOAD_MAX_ROWS={ROWS:,}")
    if len(sys.argv) > 1:  # one group of cases: refused, photos, bills, decisions
        directory = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
        group = {
            "refused": refused_cases,
            "photos": photo_cases,
            "bills": bill_cases,
            "decisions": lambda d: decision_case(d, "csv") + decision_case(d, "xlsx"),
        }[sys.argv[1]]
        print_table(group(directory))
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print_table(uploads())
