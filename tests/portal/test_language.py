"""Chinese by default, English through the switch; dates, money and durations follow the language (issue 7)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone, translation

from kernel.templatetags.portal_format import portal_duration, portal_money
from tests import factories

pytestmark = pytest.mark.django_db


def test_pages_are_chinese_even_when_the_browser_asks_for_english(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "快递拦截·线下结算" in response.content.decode()


def test_the_switch_sets_english_and_back(client):
    client.force_login(factories.user("cs1", "Customer service"))
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/").content.decode()
    assert "Interceptions in flight" in page and "Express interception portal" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    page = client.get("/admin/").content.decode()
    assert "在途拦截" in page


def test_every_page_offers_the_switch_with_the_current_language_marked(client):
    html = client.get("/admin/login/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert 'value="en"' in html and "English" in html
    assert 'value="zh-hans" lang="zh-hans" class="portal-current"' in html


def test_api_clients_choose_with_accept_language(api):
    client = api(factories.api_client_for(merchant=factories.MerchantFactory()))
    english = client.post("/api/v1/interceptions/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.post("/api/v1/interceptions/", {}, format="json")
    assert english.json()["code"] == chinese.json()["code"] == "invalid"
    assert english.json()["detail"] == "This field is required."
    assert chinese.json()["detail"] == "该字段是必填项。"


def test_dates_in_lists_follow_the_language(client):
    order = factories.started()
    client.force_login(factories.user("cs1", "Customer service"))
    page = client.get("/admin/interception/interceptionorder/").content.decode()
    at = timezone.localtime(order.requested_at)
    assert f"{at.year}年{at.month}月{at.day}日" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/admin/interception/interceptionorder/").content.decode()
    assert f"{at:%b}. {at.day}, {at.year}" in page or f"{at:%B} {at.day}, {at.year}" in page


@pytest.mark.parametrize(
    "language, duration, money",
    [
        ("zh-hans", "2 天 3 小时", "¥1,234.50"),
        ("en", "2 days 3 hours", "¥1,234.50"),
    ],
)
def test_durations_and_money_are_formatted_for_the_language(language, duration, money):
    with translation.override(language):
        assert portal_duration(timedelta(days=2, hours=3, minutes=10)) == duration
        assert portal_money(Decimal("1234.5")) == money
        assert portal_duration(timedelta(seconds=20)) == ("不到一分钟" if language == "zh-hans" else "under a minute")
