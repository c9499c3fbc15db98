import pytest
from cryptography.fernet import Fernet

from portal.env import ConfigError, read_settings
from tests.commands import BASE, manage

GOOD_KEY = "k" * 30 + "abcdefghijklmnopqrstuvwxyz0123456789"
PROD = {
    "PORTAL_MODE": "production",
    "SECRET_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://portal:pw@db.internal:5432/portal",
    "CREDENTIALS_KEY": "q1MiHbLb2KpbZB2Z7f4zqJxgU8f0O1w6mS0Xxq2xY0Q=",
}


def test_defaults_are_a_sqlite_demo_database_inside_the_project():
    env = read_settings({}, base_dir=BASE)
    assert env["database"]["ENGINE"] == "django.db.backends.sqlite3"
    assert env["database"]["NAME"] == str(BASE / "db.sqlite3")
    assert env["database"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert env["debug"] is True
    assert env["production"] is False


def test_database_url_for_postgresql_is_parsed():
    env = read_settings({"DATABASE_URL": "postgres://u:p@h:6543/db"}, base_dir=BASE)
    assert env["database"]["ENGINE"] == "django.db.backends.postgresql"
    assert (env["database"]["HOST"], env["database"]["PORT"], env["database"]["NAME"]) == ("h", 6543, "db")


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", "malformed"),
        ("postgres//host/db", "malformed"),
        ("mysql://u@h/db", "unsupported"),
        ("postgres://u@h:5432", "names no database"),
    ],
)
def test_malformed_database_url_is_refused_in_one_line(url, words):
    with pytest.raises(ConfigError) as err:
        read_settings({"DATABASE_URL": url}, base_dir=BASE)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_production_requires_secret_key():
    env = dict(PROD)
    del env["SECRET_KEY"]
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        read_settings(env, base_dir=BASE)


def test_production_refuses_weak_secret_key_debug_and_missing_hosts():
    with pytest.raises(ConfigError, match="too weak"):
        read_settings(dict(PROD, SECRET_KEY="short"), base_dir=BASE)
    with pytest.raises(ConfigError, match="DEBUG must be false"):
        read_settings(dict(PROD, DEBUG="true"), base_dir=BASE)
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS is required"):
        read_settings(dict(PROD, ALLOWED_HOSTS=""), base_dir=BASE)


def test_lists_and_booleans_are_parsed_and_checked():
    env = read_settings(
        {"ALLOWED_HOSTS": "a.example, b.example", "DEBUG": "no", "CSRF_TRUSTED_ORIGINS": "https://a.example"},
        base_dir=BASE,
    )
    assert env["allowed_hosts"] == ["a.example", "b.example"]
    assert env["debug"] is False
    assert env["csrf_trusted_origins"] == ["https://a.example"]
    with pytest.raises(ConfigError, match="not a boolean"):
        read_settings({"DEBUG": "maybe"}, base_dir=BASE)
    with pytest.raises(ConfigError, match="needs a scheme"):
        read_settings({"CSRF_TRUSTED_ORIGINS": "a.example"}, base_dir=BASE)


def test_carrier_poll_hours_defaults_to_four_and_must_be_positive():
    assert read_settings({}, base_dir=BASE)["carrier_poll_hours"] == 4.0
    assert read_settings({"CARRIER_POLL_HOURS": "0.5"}, base_dir=BASE)["carrier_poll_hours"] == 0.5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError, match="CARRIER_POLL_HOURS"):
            read_settings({"CARRIER_POLL_HOURS": bad}, base_dir=BASE)


def test_upload_row_limit_defaults_to_50000_and_must_be_a_positive_count():
    assert read_settings({}, base_dir=BASE)["upload_max_rows"] == 50_000
    assert read_settings({"UPLOAD_MAX_ROWS": "120000"}, base_dir=BASE)["upload_max_rows"] == 120_000
    for bad in ("0", "-5", "many", "1.5"):
        with pytest.raises(ConfigError, match="UPLOAD_MAX_ROWS"):
            read_settings({"UPLOAD_MAX_ROWS": bad}, base_dir=BASE)


def test_startup_stops_with_one_line_on_malformed_database_url():
    result = manage("check", env={"DATABASE_URL": "postgres//oops"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("portal: configuration error: DATABASE_URL is malformed")


def test_startup_stops_with_one_line_without_secret_key_in_production():
    env = dict(PROD)
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("portal: configuration error: SECRET_KEY is required")
    assert result.stderr.strip().count("\n") == 0


def test_check_deploy_in_production_mode_prints_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=dict(PROD))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_credentials_key_is_required_in_production_and_checked():
    without = {k: v for k, v in PROD.items() if k != "CREDENTIALS_KEY"}
    with pytest.raises(ConfigError, match="CREDENTIALS_KEY is required"):
        read_settings(without, base_dir=BASE)
    with pytest.raises(ConfigError, match="not a Fernet key"):
        read_settings({**PROD, "CREDENTIALS_KEY": "short"}, base_dir=BASE)
    rotated = read_settings(
        {**PROD, "CREDENTIALS_KEY": f"{Fernet.generate_key().decode()},{PROD['CREDENTIALS_KEY']}"}, base_dir=BASE
    )
    assert len(rotated["credentials_keys"]) == 2


def test_kuaidi100_addresses_default_to_kuaidi100_and_must_be_addresses():
    env = read_settings({}, base_dir=BASE)
    assert (env["kuaidi100_api_url"], env["kuaidi100_poll_url"]) == (
        "https://api.kuaidi100.com",
        "https://poll.kuaidi100.com",
    )
    assert env["kuaidi100_subscribe_rate"] == 20
    env = read_settings({"KUAIDI100_API_URL": "http://127.0.0.1:8123/", "KUAIDI100_SUBSCRIBE_RATE": "5"}, base_dir=BASE)
    assert env["kuaidi100_api_url"] == "http://127.0.0.1:8123" and env["kuaidi100_subscribe_rate"] == 5
    with pytest.raises(ConfigError, match="KUAIDI100_POLL_URL"):
        read_settings({"KUAIDI100_POLL_URL": "poll.kuaidi100.com"}, base_dir=BASE)
    with pytest.raises(ConfigError, match="KUAIDI100_SUBSCRIBE_RATE"):
        read_settings({"KUAIDI100_SUBSCRIBE_RATE": "0"}, base_dir=BASE)


@pytest.mark.parametrize(
    ("addr", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000/admin/"),
        ("8001", "http://127.0.0.1:8001/admin/"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080/admin/"),
        ("[::1]:8000", "http://[::1]:8000/admin/"),
    ],
)
def test_the_demo_prints_the_address_it_serves_from_demo_addr(addr, url):
    from portal.management.commands.run_demo import admin_url

    assert admin_url(addr) == url


def test_the_readme_quick_start_says_how_to_choose_the_demo_address():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :][:1500]
    assert "DEMO_ADDR" in quick_start
