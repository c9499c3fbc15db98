"""Outgoing mail from the environment (portal/env.py): EMAIL_URL or EMAIL_HOST…, the console when unset."""

import pytest

from portal.env import ConfigError, parse_email


def test_unset_is_the_console_backend():
    assert parse_email({}, production=False)["backend"] == "django.core.mail.backends.console.EmailBackend"


def test_email_url_with_starttls():
    config = parse_email({"EMAIL_URL": "smtp://bot%40x.cn:p%40ss@smtp.x.cn:587?tls=true"}, production=True)
    assert config["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["host"], config["port"], config["user"], config["password"]) == (
        "smtp.x.cn",
        587,
        "bot@x.cn",
        "p@ss",
    )
    assert config["use_tls"] and not config["use_ssl"]


def test_email_host_and_companions():
    config = parse_email(
        {"EMAIL_HOST": "smtp.x.cn", "EMAIL_PORT": "465", "EMAIL_USE_SSL": "true", "DEFAULT_FROM_EMAIL": "p@x.cn"},
        production=True,
    )
    assert (config["port"], config["use_ssl"], config["from"]) == (465, True, "p@x.cn")


@pytest.mark.parametrize(
    "environ",
    [
        {"EMAIL_URL": "http://smtp.x.cn"},
        {"EMAIL_HOST": "smtp.x.cn", "EMAIL_PORT": "abc"},
        {"EMAIL_HOST": "smtp.x.cn", "EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"},
    ],
)
def test_bad_mail_settings_are_one_line_errors(environ):
    with pytest.raises(ConfigError):
        parse_email(environ, production=True)
