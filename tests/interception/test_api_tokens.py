"""API tokens: issued, rotated and revoked on the API client's admin page, stored only as a hash."""

import importlib
import io
import re
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from interception import services
from interception.models import ApiClient, ApiToken
from kernel.errors import DomainError
from kernel.models import TimelineEntry
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db

SHOWN_KEY = re.compile(r'class="portal-token">([0-9a-f]{40})<')


@pytest.fixture
def supervisor(client):
    user = factories.user("sup", roles.SUPERVISOR)
    client.force_login(user)
    return user


@pytest.fixture
def erp(db):
    """A merchant's API client without a token yet."""
    merchant = factories.MerchantFactory()
    user = factories.User.objects.create_user(username="erp-user")
    return ApiClient.objects.create(user=user, name="ERP", merchant=merchant)


def action_url(client_obj, action):
    return f"/admin/interception/apiclient/{client_obj.pk}/do/{action}/"


def change_url(client_obj):
    return f"/admin/interception/apiclient/{client_obj.pk}/change/"


def with_key(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def tables_holding(text):
    """Every table of the database with a row whose text contains `text`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT 1 FROM "{table}" AS row WHERE row::text LIKE %s LIMIT 1', [f"%{text}%"])
            if cursor.fetchone():
                found.append(table)
    return found


def issue_in_admin(client, erp):
    response = client.post(action_url(erp, "issue-token"))
    assert response.status_code == 200
    (key,) = SHOWN_KEY.findall(response.content.decode())
    return key, response


def test_supervisor_issues_an_api_token_on_the_client_page_shown_once_and_stored_hashed(client, supervisor, erp):
    page = client.get(change_url(erp)).content.decode()
    assert action_url(erp, "issue-token") in page
    confirm = client.get(action_url(erp, "issue-token")).content.decode()
    assert "本系统只保存它的哈希值" in confirm and not ApiToken.objects.exists()

    key, response = issue_in_admin(client, erp)

    shown = response.content.decode()
    assert "请立即复制令牌：它只显示这一次。" in shown
    assert "no-store" in response.headers["Cache-Control"]
    assert not any(key in morsel.value for morsel in response.cookies.values())
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.prefix) == (erp.user, supervisor, key[:8])
    assert token.digest == ApiToken.digest_of(key) != key
    assert tables_holding(key) == []
    assert tables_holding(token.digest) == ["interception_apitoken"]
    # Never again: the client's page shows the prefix only.
    again = client.get(change_url(erp)).content.decode()
    assert key not in again and f"{key[:8]}…" in again
    assert with_key(key).get("/api/v1/merchants/").json()["results"][0]["code"] == erp.merchant.code
    assert TimelineEntry.objects.filter(transition="issue_token", object_id=erp.pk, reason=key[:8]).exists()


def test_a_client_with_a_token_is_offered_rotate_and_revoke_not_a_second_token(client, supervisor, erp):
    issue_in_admin(client, erp)
    page = client.get(change_url(erp)).content.decode()
    assert action_url(erp, "issue-token") not in page
    assert action_url(erp, "rotate-token") in page and action_url(erp, "revoke-token") in page
    # A forged second issue is refused by the service, and nothing is issued.
    refused = client.post(action_url(erp, "issue-token"), follow=True)
    assert "该 API 客户端已有令牌" in refused.content.decode()
    assert ApiToken.objects.count() == 1


def test_rotating_asks_first_then_the_old_key_answers_401_and_the_new_one_works(client, supervisor, erp):
    old_key, _response = issue_in_admin(client, erp)

    confirm = client.get(action_url(erp, "rotate-token")).content.decode()
    assert "新令牌取代当前令牌，当前令牌立即失效" in confirm
    assert with_key(old_key).get("/api/v1/outlets/").status_code == 200
    rotated = client.post(action_url(erp, "rotate-token"))

    (new_key,) = SHOWN_KEY.findall(rotated.content.decode())
    assert new_key != old_key
    refused = with_key(old_key).get("/api/v1/outlets/")
    assert refused.status_code == 401
    assert refused.json() == {"code": "token_revoked", "detail": "该 API 令牌已被吊销。", "errors": []}
    assert with_key(new_key).get("/api/v1/outlets/").status_code == 200
    assert tables_holding(new_key) == [] and tables_holding(old_key) == []
    assert TimelineEntry.objects.filter(
        transition="rotate_token", object_id=erp.pk, reason=f"{old_key[:8]} → {new_key[:8]}"
    ).exists()


def test_revoking_asks_first_then_the_key_answers_401_in_the_error_shape(client, supervisor, erp):
    key, _response = issue_in_admin(client, erp)

    assert "当前令牌立即失效" in client.get(action_url(erp, "revoke-token")).content.decode()
    assert ApiToken.objects.get().revoked_at is None
    assert client.post(action_url(erp, "revoke-token")).status_code == 302

    refused = with_key(key).get("/api/v1/interceptions/")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Token"
    assert refused.json()["code"] == "token_revoked" and refused.json()["errors"] == []
    page = client.get(change_url(erp)).content.decode()
    assert action_url(erp, "issue-token") in page and action_url(erp, "revoke-token") not in page
    assert TimelineEntry.objects.filter(transition="revoke_token", object_id=erp.pk).exists()


def test_an_unknown_key_answers_401_invalid_token(db):
    refused = with_key("0" * 40).get("/api/v1/outlets/")
    assert refused.status_code == 401
    assert refused.json() == {"code": "authentication_failed", "detail": "认证令牌无效。", "errors": []}
    english = with_key("0" * 40).get("/api/v1/outlets/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"] == "Invalid token."


def test_last_used_is_recorded_on_use_and_not_rewritten_on_every_request(erp):
    key = services.api_token_issue(client=erp, actor=None).key
    assert ApiToken.objects.get().last_used_at is None
    api = with_key(key)

    assert api.get("/api/v1/outlets/").status_code == 200
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None and timezone.now() - first_use < timedelta(seconds=30)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert api.get("/api/v1/outlets/").status_code == 200
    assert not [q for q in queries if q["sql"].startswith('UPDATE "interception_apitoken"')]
    assert ApiToken.objects.get().last_used_at == first_use

    # A minute later the next request records it again.
    ApiToken.objects.update(last_used_at=first_use - timedelta(minutes=2))
    assert api.get("/api/v1/outlets/").status_code == 200
    assert ApiToken.objects.get().last_used_at > first_use


def test_the_client_page_lists_its_tokens_with_prefix_creator_last_use_and_revocation(client, supervisor, erp):
    first = services.api_token_issue(client=erp, actor=supervisor)
    with_key(first.key).get("/api/v1/outlets/")
    second = services.api_token_rotate(client=erp, actor=supervisor)

    page = client.get(change_url(erp)).content.decode()

    rows = re.findall(r"<tr><td><code>(\w+)…</code></td>" + "<td>([^<]*)</td>" * 5 + "</tr>", page)
    first.token.refresh_from_db()
    local = timezone.localtime
    assert rows == [
        (second.token.prefix, "使用中", f"{local(second.token.created_at):%Y-%m-%d %H:%M:%S}", "sup", "从未使用", "—"),
        (
            first.token.prefix,
            "已吊销",
            f"{local(first.token.created_at):%Y-%m-%d %H:%M:%S}",
            "sup",
            f"{local(first.token.last_used_at):%Y-%m-%d %H:%M}",
            f"{local(first.token.revoked_at):%Y-%m-%d %H:%M:%S}",
        ),
    ]


@pytest.mark.parametrize("role", [roles.OUTLET_STAFF, roles.CUSTOMER_SERVICE, roles.FINANCE])
def test_other_roles_never_reach_the_token_pages(client, erp, role):
    token = services.api_token_issue(client=erp, actor=None).token
    staff = factories.user("someone", role, outlets=[factories.OutletFactory()] if role == roles.OUTLET_STAFF else ())
    client.force_login(staff)

    assert client.get(change_url(erp)).status_code == 403
    assert client.get("/admin/interception/apiclient/").status_code == 403
    assert client.get("/admin/interception/apitoken/").status_code == 403
    assert client.get(f"/admin/interception/apitoken/{token.pk}/change/").status_code == 403
    for action in ("issue-token", "rotate-token", "revoke-token"):
        assert client.get(action_url(erp, action)).status_code == 404
        assert client.post(action_url(erp, action)).status_code == 404
    assert client.post(f"/admin/interception/apitoken/{token.pk}/do/revoke/").status_code == 404
    assert list(ApiToken.objects.values_list("pk", "revoked_at")) == [(token.pk, None)]


def test_only_the_supervisor_role_holds_the_token_permissions(db):
    wanted = {"view_apiclient", "view_apitoken", "manage_api_tokens"}
    for role in roles.ROLE_PERMISSIONS:
        held = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True)) & wanted
        assert held == (wanted if role == roles.SUPERVISOR else set()), role


def test_an_api_client_cannot_issue_tokens_through_the_service(erp):
    other = ApiClient.objects.create(
        user=factories.User.objects.create_user("other"), name="other", merchant=factories.MerchantFactory()
    )
    with pytest.raises(DomainError) as refused:
        services.api_token_issue(client=other, actor=erp.user)
    assert refused.value.code == "forbidden" and not ApiToken.objects.exists()


def test_a_staff_users_token_from_before_is_revoked_on_the_api_tokens_list(client, supervisor):
    # Tokens of staff users came from `drf_create_token`; the migration keeps them, this page revokes them.
    staff = factories.user("fin", roles.FINANCE)
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=staff, prefix=key[:8], digest=ApiToken.digest_of(key))
    assert with_key(key).get("/api/v1/outlets/").status_code == 200

    listing = client.get("/admin/interception/apitoken/?state=active").content.decode()
    assert f"/admin/interception/apitoken/{token.pk}/change/" in listing
    assert client.post(f"/admin/interception/apitoken/{token.pk}/do/revoke/").status_code == 302

    assert with_key(key).get("/api/v1/outlets/").status_code == 401
    assert TimelineEntry.objects.filter(transition="revoke_token", object_id=token.pk).exists()
    assert "已吊销 API 令牌" in client.get(f"/admin/interception/apitoken/{token.pk}/change/").content.decode()


@override_settings(API_RATE_LIMIT="2/min")
def test_the_rate_limit_stays_with_the_client_when_its_token_is_rotated(erp):
    old = services.api_token_issue(client=erp, actor=None).key
    assert [with_key(old).get("/api/v1/outlets/").status_code for _ in range(2)] == [200, 200]
    new = services.api_token_rotate(client=erp, actor=None).key
    assert with_key(new).get("/api/v1/outlets/").status_code == 429


def test_the_data_migration_hashes_a_plain_token_and_the_same_key_keeps_working(erp):
    """The plain-text table of rest_framework.authtoken as it stood, with one token in it."""
    plain_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE "authtoken_token" ("key" varchar(40) PRIMARY KEY, '
            '"created" timestamp with time zone NOT NULL, '
            '"user_id" integer NOT NULL UNIQUE REFERENCES "auth_user" ("id"))'
        )
        cursor.execute(
            'INSERT INTO "authtoken_token" VALUES (%s, %s, %s)', [plain_key, "2026-01-05 09:30:00+08:00", erp.user_id]
        )
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', now())")
    migration = importlib.import_module("interception.migrations.0010_api_tokens")

    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert (token.user_id, token.prefix, token.revoked_at) == (erp.user_id, plain_key[:8], None)
    assert token.created_at.isoformat() == "2026-01-05T01:30:00+00:00"
    assert tables_holding(plain_key) == []
    assert with_key(plain_key).get("/api/v1/merchants/").json()["results"][0]["code"] == erp.merchant.code
    # The client's page can rotate it like any other token.
    assert services.api_token_rotate(client=erp, actor=None).key != plain_key
    assert with_key(plain_key).get("/api/v1/outlets/").status_code == 401


def test_the_demo_prints_a_working_merchant_token_each_run_and_the_previous_one_stops(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    def printed_token():
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        (key,) = re.findall(r"Merchant API token \(M0001, auto-intercept on\): ([0-9a-f]{40})", out.getvalue())
        return key

    first = printed_token()
    assert with_key(first).get("/api/v1/merchants/").json()["results"][0]["code"] == "M0001"
    second = printed_token()
    assert with_key(second).get("/api/v1/merchants/").status_code == 200
    assert with_key(first).get("/api/v1/merchants/").status_code == 401
    assert ApiToken.objects.filter(user__username="api-m0001", revoked_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_issuing_at_once_make_one_token():
    client_obj = ApiClient.objects.create(
        user=factories.User.objects.create_user("erp-race"), name="race", merchant=factories.MerchantFactory()
    )
    supervisors = [factories.user(f"sup{n}", roles.SUPERVISOR) for n in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def issue(actor):
        try:
            barrier.wait()
            services.api_token_issue(client=client_obj, actor=actor)
            outcomes.append("issued")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(s,)) for s in supervisors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["issued", "token_exists"]
    assert ApiToken.objects.filter(user=client_obj.user).count() == 1
