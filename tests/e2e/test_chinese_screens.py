"""Issue 19: each role's main pages at 1440×900 and on a 390×844 phone, in the Chinese UI: no page wider than
the screen, and no English word a person reads (the visible text, the title, buttons' values and fields'
placeholders), but for the codes and names in ALLOWED. Every page of every role at both sizes is saved as a
screenshot under tests/e2e/screenshots/<test name>/<size>-<page>.png."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from interception import services
from interception.models import LogisticsStatus, TrackingEvent
from portal import roles
from settlement import services as settlement_services
from tests import factories
from tests.e2e.conftest import SHOTS

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-12345!"  # factories.user's
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
USERS = {"supervisor": "boss_zh", "cs": "cs_zh", "outlet": "outlet_zh", "finance": "fin_zh"}

# Words a Chinese reader meets as they are, each for a reason:
ALLOWED = {
    # carrier codes, in their own column and beside the carriers' Chinese names, as the carriers print them
    "jt",
    "yto",
    "zto",
    "sf",
    "sto",
    # kuaidi100's code for ZTO, the example of the code a supervisor types for a carrier
    "zhongtong",
    # file formats and the interface other systems use, named as every Chinese tool names them
    "csv",
    "xlsx",
    "api",
    # sizes are written with their unit's symbol in Chinese too: 10 MB
    "mb",
    # the language switch names the other language in that language
    "english",
    # DingTalk's and WeCom's robots call their address a Webhook, and so do the merchants' developers
    "webhook",
    # the users' login names are what they typed
    *USERS.values(),
}
# Names as the brands write them, in Latin letters beside their Chinese name: 极兔 J&T.
NAMES = ["J&T"]
# A token with a digit is a code (tracking, after-sale, order, merchant and outlet numbers): never a word.
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")


def english_words(text):
    for name in NAMES:
        text = text.replace(name, " ")
    return sorted({t for t in TOKEN.findall(text) if not any(c.isdigit() for c in t) and t.lower() not in ALLOWED})


def _around(text, word):
    at = re.search(rf"(?<![A-Za-z0-9_\-]){re.escape(word)}(?![A-Za-z0-9_\-])", text)
    start = at.start() if at else 0
    return text[max(0, start - 20) : start + len(word) + 20].replace("\n", " ")


# Everything a person reads on the page: its text, its title, what its buttons and fields say.
READ = """() => [
    document.title,
    document.body.innerText,
    ...[...document.querySelectorAll('input[type=submit], input[type=button], input[type=reset]')].map(e => e.value),
    ...[...document.querySelectorAll('[placeholder]')].map(e => e.getAttribute('placeholder')),
    ...[...document.querySelectorAll('select option')].map(e => e.textContent),
].join('\\n')"""


@pytest.fixture
def day(db):
    """A day's data for every role: interceptions in flight, succeeded and failed, an open after-sale, an
    application waiting, a statement issued, parcels with their trail."""
    contract = factories.active_contract(fee="4.50")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    now = timezone.now()
    in_flight = factories.started(factories.after_sale_for(factories.parcel_for(contract)))
    factories.track(in_flight.parcel, "in_transit", at=now - timedelta(hours=1), text="快件已到达", place="浙江,杭州市")
    factories.intercepted(contract)
    failed = factories.intercepted(contract, result="failed")
    open_after_sale = factories.after_sale_for(factories.parcel_for(contract))
    returning = factories.intercepted(contract)
    services.interception_record_result(order_id=returning.pk, actor=None, result="returning", source="callback")
    douyin = factories.active_contract(platform_code="douyin", carrier_code="jt")
    services.agreement_sign(merchant=douyin.merchant, platform=douyin.platform, actor=None)
    two_parcels = factories.after_sale_naming(factories.order_parcels(douyin), number="DY-E2E-1")
    # The factories write a status's code as the carrier's text; carriers write Chinese.
    for status, label in LogisticsStatus.choices:
        TrackingEvent.objects.filter(raw_text=status).update(raw_text=f"快件{label}")
    pending = factories.apply(factories.contract_setup(outlet=contract.outlet)[0], contract.outlet)
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=today - timedelta(days=1),
        period_end=today,
    ).statement
    settlement_services.statement_issue(statement_id=statement.pk, actor=None)
    factories.user(USERS["supervisor"], roles.SUPERVISOR)
    factories.user(USERS["cs"], roles.CUSTOMER_SERVICE)
    factories.user(USERS["finance"], roles.FINANCE)
    factories.outlet_staff(USERS["outlet"], contract.outlet)
    return {
        "contract": contract.pk,
        "pending": pending.pk,
        "statement": statement.pk,
        "order": in_flight.pk,
        "failed": failed.pk,
        "after_sale": in_flight.after_sale_id,
        "open_after_sale": open_after_sale.pk,
        "two_parcels": two_parcels.pk,
        "returning": returning.pk,
        "parcel": in_flight.parcel_id,
        "carrier": contract.outlet.carrier_id,
    }


A = "/admin/interception/"
S = "/admin/settlement/"
DASHBOARD = [("dashboard", "/admin/")]
CUSTOMER_SERVICE = [
    ("after-sales", A + "aftersale/"),
    ("after-sale", A + "aftersale/{after_sale}/change/"),
    ("interception-page", A + "aftersale/{open_after_sale}/intercept/"),
    ("two-parcels-page", A + "aftersale/{two_parcels}/intercept/"),
    ("returning", A + "interceptionorder/{returning}/change/"),
    ("return-damaged", A + "interceptionorder/{returning}/do/return_damaged/"),
    ("interceptions", A + "interceptionorder/"),
    ("interception", A + "interceptionorder/{order}/change/"),
    ("failed-interception", A + "interceptionorder/{failed}/change/"),
    ("record-result", A + "interceptionorder/{order}/do/result/"),
    ("parcels", A + "parcel/"),
    ("parcel", A + "parcel/{parcel}/change/"),
    ("contracts", A + "contract/"),
    ("claims", "/admin/claims/claim/"),
    ("file-claim", "/admin/claims/claim/file/"),
]
PAGES = {
    "supervisor": DASHBOARD
    + CUSTOMER_SERVICE
    + [
        ("contract", A + "contract/{contract}/change/"),
        ("statements", S + "statement/"),
        ("statement", S + "statement/{statement}/change/"),
        ("merchants", A + "merchant/"),
        ("outlets", A + "outlet/"),
        ("carriers", A + "carrier/"),
        ("carrier", A + "carrier/{carrier}/change/"),
        ("outlets-import", A + "outlet/import/"),
        ("after-sales-export", A + "aftersale/export/"),
        ("api-clients", A + "apiclient/"),
        ("channels", "/admin/notifications/channel/"),
        ("users", "/admin/auth/user/"),
    ],
    "cs": DASHBOARD + CUSTOMER_SERVICE,
    "outlet": DASHBOARD
    + [
        ("contract-queue", A + "contract/"),
        ("application", A + "contract/{pending}/change/"),
        ("approve", A + "contract/{pending}/do/approve/"),
        ("decisions-import", A + "contract/decisions/import/"),
        ("interceptions", A + "interceptionorder/"),
        ("interception", A + "interceptionorder/{order}/change/"),
        ("statements", S + "statement/"),
        ("statement", S + "statement/{statement}/change/"),
        ("confirm-statement", S + "statement/{statement}/do/confirm/"),
        ("channels", "/admin/notifications/channel/"),
    ],
    "finance": DASHBOARD
    + [
        ("statements", S + "statement/"),
        ("statement", S + "statement/{statement}/change/"),
        ("interceptions", A + "interceptionorder/"),
        ("interception", A + "interceptionorder/{order}/change/"),
        ("contracts", A + "contract/"),
        ("reconciliations", S + "reconciliation/"),
        ("generate", S + "statement/generate/"),
        ("reconcile", S + "statement/{statement}/reconcile/"),
    ],
}


def _walk(browser, live_server, day, role, folder):
    problems = []
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(30_000)  # the suite runs beside others on two cores
        failed = []
        page.on("response", lambda r, failed=failed: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", USERS[role])
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        for name, path in PAGES[role]:
            url = live_server.url + path.format(**day)
            page.goto(url)
            page.screenshot(path=str(folder / f"{size}-{name}.png"), full_page=True)
            where = f"{role} {size} {name} ({path.format(**day)})"
            assert page.evaluate("() => document.documentElement.lang") == "zh-hans", where
            wide, screen = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if wide > screen + 1:
                problems.append(f"{where}: {wide} px wide on a {screen} px screen")
            text = page.evaluate(READ)
            if words := english_words(text):
                problems.append(f"{where}: English words {[_around(text, w) for w in words]}")
        problems += failed
        context.close()
    return problems


@pytest.mark.parametrize("role", list(PAGES))
def test_each_roles_pages_are_chinese_and_fit_the_screen_at_both_sizes(browser, live_server, day, role, request):
    folder = SHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    problems = _walk(browser, live_server, day, role, folder)
    assert problems == [], "\n".join(problems)


def test_the_english_word_check_finds_words_and_lets_codes_through():
    text = "运单号 JT0000000007 商家 M00001 极兔 J&T via YTO, CSV 导出 Select after-sale to change"
    assert english_words(text) == ["Select", "after-sale", "change", "to", "via"]
