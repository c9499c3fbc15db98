"""The demo shows the messages it would send: e-mail channels per team and for the outlet login's outlets, mails
printed by the console backend, and the admin's list of sent notifications."""

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command

from notifications.delivery import deliver
from notifications.models import Audience, Channel, Notification

pytestmark = pytest.mark.django_db


def test_the_demo_tells_each_team_and_the_outlet_login_by_console_e_mail(settings, tmp_path, capsys, client):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")  # idempotent: no second channel
    channels = Channel.objects.filter(kind="email", active=True)
    assert sorted(channels.exclude(audience=Audience.OUTLET).values_list("audience", flat=True)) == sorted(
        [Audience.CUSTOMER_SERVICE, Audience.FINANCE, Audience.SUPERVISORS]
    )
    assert sorted(channels.filter(audience=Audience.OUTLET).values_list("outlet__code", flat=True)) == [
        "JT-001",
        "ZTO-001",
    ]
    # The seeded work was told as it was made: failures to customer service, applications to the outlets.
    assert Notification.objects.filter(channel__audience=Audience.CUSTOMER_SERVICE, event="interception.failed")
    assert Notification.objects.filter(channel__audience=Audience.OUTLET, event="contract.applied")

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    capsys.readouterr()
    report = deliver()
    assert report.sent and not report.failed
    printed = capsys.readouterr().out
    assert "Subject: " in printed and "拦截失败，请在处理时限内决定" in printed and "cs@demo.example.cn" in printed
    assert not mail.outbox  # printed, not kept
    client.force_login(User.objects.get(username="supervisor"))
    page = client.get("/admin/notifications/notification/?state__exact=sent")
    assert page.status_code == 200 and "拦截失败，请在处理时限内决定" in page.content.decode()
