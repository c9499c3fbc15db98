"""Login lockout, security headers and the API rate limit (issue 7, hardening)."""

import ipaddress

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from portal.env import ConfigError, read_settings
from portal.security import client_ip
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "pw-12345!"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def test_login_locks_after_the_failure_limit_for_that_user_name_and_address(client):
    factories.user("cs1", "Customer service")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, "cs1", "wrong")
        assert response.status_code == 200  # the login form again, with Django's error
    assert _login(client, "cs1", "wrong").status_code == 429  # the last allowed failure locks
    locked = _login(client, "cs1", PASSWORD)
    assert locked.status_code == 429
    assert "登录已锁定" in locked.content.decode()  # the lockout page is in the portal's language
    assert "_auth_user_id" not in client.session
    # Keyed on user name *and* address: the same user from elsewhere, and others from here, still log in.
    assert _login(APIClient(), "cs1", PASSWORD, ip="10.0.0.2").status_code == 302
    factories.user("cs2", "Customer service")
    assert _login(APIClient(), "cs2", PASSWORD, ip="10.0.0.1").status_code == 302


def test_a_supervisor_unlocks_a_locked_login_by_deleting_the_attempt(client):
    from axes.models import AccessAttempt

    factories.user("cs1", "Customer service")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "cs1", "wrong")
    attempt = AccessAttempt.objects.get(username="cs1")
    supervisor = APIClient()
    supervisor.force_login(factories.user("sup", "Supervisor"))
    assert "cs1" in supervisor.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    supervisor.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert _login(client, "cs1", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(client):
    factories.user("cs1", "Customer service")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "cs1", "wrong")
    assert _login(client, "cs1", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "cs1", "wrong")
    assert _login(client, "cs1", PASSWORD).status_code == 302


@override_settings(BEHIND_TLS_PROXY=True, TRUSTED_PROXIES=[ipaddress.ip_network("10.9.9.9")])
def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(client):
    factories.user("cs1", "Customer service")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # A client cannot dodge the lockout by claiming a new address in the first entry.
        client.post(
            reverse("admin:login"),
            {"username": "cs1", "password": "wrong"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"1.1.1.{_}, 203.0.113.7",
        )
    locked = client.post(
        reverse("admin:login"),
        {"username": "cs1", "password": PASSWORD},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.7",
    )
    assert locked.status_code == 429
    other = APIClient().post(
        reverse("admin:login"),
        {"username": "cs1", "password": PASSWORD},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302


@override_settings(BEHIND_TLS_PROXY=True, TRUSTED_PROXIES=[ipaddress.ip_network("10.9.0.0/16")])
def test_login_lockout_holds_when_gunicorn_is_reached_directly_with_a_new_forwarded_address_each_try(client):
    """Only our proxies may say who the client is; a direct connection is keyed on its own address."""
    factories.user("supervisor1", "Supervisor")
    for n in range(30):
        response = client.post(
            reverse("admin:login"),
            {"username": "supervisor1", "password": "wrong"},
            REMOTE_ADDR="198.51.100.4",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        if response.status_code == 429:
            break
    assert n == settings.AXES_FAILURE_LIMIT - 1  # locked at the limit, not after 30 tries
    # Through a chain of two of our proxies, the client is the first address from the right that is not ours.
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.9.0.1")
    assert client_ip(request) == "203.0.113.9"
    # A direct connection claiming https is not taken at its word either.
    direct = client.get("/health/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_PROTO="https")
    assert direct.wsgi_request.is_secure() is False


def test_trusted_proxies_are_checked_and_default_to_this_host():
    assert [str(n) for n in read_settings({}, base_dir=settings.BASE_DIR)["trusted_proxies"]] == [
        "127.0.0.1/32",
        "::1/128",
    ]
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        read_settings({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, base_dir=settings.BASE_DIR)


@pytest.mark.parametrize("path", ["/admin/login/", "/api/v1/", "/api/docs/", "/health/"])
def test_security_headers_on_admin_api_and_docs(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_api_docs_load_swagger_from_our_own_static_files_without_inline_script(client):
    factories.user("sup", "Supervisor")
    client.force_login(factories.User.objects.get(username="sup"))
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower()
    assert "<script>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html


@override_settings(API_RATE_LIMIT="3/min")
def test_token_clients_are_rate_limited_with_a_machine_readable_429(api):
    contract = factories.active_contract()
    client = api(factories.api_client_for(merchant=contract.merchant))
    for _ in range(3):
        assert client.get("/api/v1/interceptions/").status_code == 200
    refused = client.get("/api/v1/interceptions/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) > 0
    # Another client has its own allowance.
    other = api(factories.api_client_for(merchant=factories.MerchantFactory()))
    assert other.get("/api/v1/interceptions/").status_code == 200


@override_settings(API_RATE_LIMIT="2/min")
def test_staff_sessions_are_not_rate_limited_by_the_token_limit(client):
    client.force_login(factories.user("fin", "Finance"))
    assert all(client.get("/api/v1/interceptions/").status_code == 200 for _ in range(4))


@pytest.mark.parametrize(
    "name, raw, words",
    [
        ("LOGIN_FAILURE_LIMIT", "0", "positive whole number"),
        ("LOGIN_LOCKOUT_MINUTES", "soon", "positive whole number"),
        ("API_RATE_LIMIT", "600", "rate like 600/min"),
        ("API_RATE_LIMIT", "600/fortnight", "rate like 600/min"),
    ],
)
def test_hardening_variables_are_checked(name, raw, words):
    with pytest.raises(ConfigError, match=words):
        read_settings({name: raw}, base_dir=settings.BASE_DIR)


def test_hardening_defaults():
    env = read_settings({}, base_dir=settings.BASE_DIR)
    assert (env["login_failure_limit"], env["login_lockout_minutes"], env["api_rate_limit"]) == (5, 15, "600/min")


def test_inline_scripts_run_only_with_the_responses_own_nonce(client):
    client.force_login(factories.user("fin", "Finance"))
    first = client.get("/admin/interception/interceptionorder/")
    second = client.get("/admin/interception/interceptionorder/")
    nonces = [r.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0] for r in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20
    # The date-range filter's inline script carries this response's nonce, so the browser runs it.
    assert f'nonce="{nonces[0]}"' in first.content.decode()


def test_in_production_the_api_schema_and_docs_need_a_login_unless_opened(client, settings):
    settings.API_DOCS_PUBLIC = False
    assert client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("admin:login"))
    client.force_login(factories.user("cs-docs", "Customer service"))
    assert client.get("/api/schema/").status_code == 200 and client.get("/api/docs/").status_code == 200
    settings.API_DOCS_PUBLIC = True
    client.logout()
    assert client.get("/api/schema/").status_code == 200


def test_api_docs_are_public_by_default_only_in_development():
    assert read_settings({}, base_dir=settings.BASE_DIR)["api_docs_public"] is True
    production = {
        "PORTAL_MODE": "production",
        "SECRET_KEY": "k" * 30 + "abcdefghij" * 3,
        "ALLOWED_HOSTS": "x",
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
    }
    assert read_settings(production, base_dir=settings.BASE_DIR)["api_docs_public"] is False
    assert read_settings({**production, "API_DOCS_PUBLIC": "true"}, base_dir=settings.BASE_DIR)["api_docs_public"]


def test_a_session_ends_after_session_idle_minutes_without_a_request_and_activity_renews_it(client):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 == 480 * 60
    client.force_login(factories.user("cs-idle", "Customer service"))
    assert client.get("/admin/").status_code == 200
    session = Session.objects.get()
    assert abs(session.expire_date - (timezone.now() + timedelta(minutes=480))) < timedelta(minutes=1)
    # Active a minute before it would end: the expiry moves on by another SESSION_IDLE_MINUTES.
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))
    stored = client.session
    stored["_seen"] = 0
    stored.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get("/admin/").status_code == 200
    assert Session.objects.get().expire_date > timezone.now() + timedelta(minutes=470)
    # Idle past it: the next request goes to the login page.
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
