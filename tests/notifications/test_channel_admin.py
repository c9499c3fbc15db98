"""Channels in the admin: outlet staff manage their own outlets'; the address and secret are write-only;
a bad address or a missing secret is refused when saved; the test button sends and says what happened."""

import pytest

from notifications.models import Audience, Channel, Send
from portal import roles
from tests import factories
from tests.notifications.helpers import channel

pytestmark = pytest.mark.django_db
ADD = "/admin/notifications/channel/add/"


def _form(**over):
    data = {"name": "网点群", "kind": "wecom", "audience": "outlet", "active": "on", "url": "", "secret": ""}
    data.update(over)
    return data


def test_outlet_staff_add_a_robot_for_their_outlet_and_never_see_its_address_again(client, two_outlets, robots):
    client.force_login(two_outlets["staff_a"])
    url = robots.wecom_url("SECRETKEY")
    answer = client.post(ADD, _form(outlet=two_outlets["a"].pk, url=url))
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    saved = Channel.objects.get()
    assert saved.outlet == two_outlets["a"] and saved.credentials["url"] == url
    page = client.get(f"/admin/notifications/channel/{saved.pk}/change/").content.decode()
    assert "SECRETKEY" not in page
    # saved again with the field left empty: the address is kept
    assert (
        client.post(f"/admin/notifications/channel/{saved.pk}/change/", _form(outlet=two_outlets["a"].pk)).status_code
        == 302
    )
    saved.refresh_from_db()
    assert saved.credentials["url"] == url


def test_outlet_staff_may_not_speak_for_another_outlet_or_a_team(client, two_outlets, robots):
    client.force_login(two_outlets["staff_a"])
    other = client.post(ADD, _form(outlet=two_outlets["b"].pk, url=robots.wecom_url("K")))
    assert other.status_code == 200 and "outlet" in other.context["adminform"].form.errors
    team = client.post(ADD, _form(audience="finance", url=robots.wecom_url("K")))
    assert team.status_code == 200 and "audience" in team.context["adminform"].form.errors
    theirs = channel("wecom", robots.wecom_url("B"), audience=Audience.OUTLET, outlet=two_outlets["b"])
    assert client.get(f"/admin/notifications/channel/{theirs.pk}/change/").status_code in (302, 404)
    assert "B" not in [c.name for c in client.get("/admin/notifications/channel/").context["cl"].result_list]
    assert not Channel.objects.filter(outlet=two_outlets["a"]).exists()


@pytest.mark.parametrize(
    ("kind", "url", "secret", "field"),
    [
        ("wecom", "https://evil.example.com/cgi-bin/webhook/send?key=K", "", "url"),
        ("wecom", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "", "url"),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "", "url"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=T", "", "secret"),
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/abc", "", "secret"),
        ("feishu", "", "s", "url"),
    ],
)
def test_a_bad_address_or_a_missing_secret_is_refused_when_saved(client, settings, kind, url, secret, field):
    settings.NOTIFY_TEST_HOSTS = []
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    answer = client.post(ADD, _form(kind=kind, audience="customer_service", url=url, secret=secret))
    assert answer.status_code == 200 and field in answer.context["adminform"].form.errors
    assert not Channel.objects.exists()


def test_the_vendors_real_addresses_are_accepted(client, settings):
    settings.NOTIFY_TEST_HOSTS = []
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    answer = client.post(
        ADD,
        _form(
            kind="dingtalk",
            audience="finance",
            url="https://oapi.dingtalk.com/robot/send?access_token=T",
            secret="SEC123",
        ),
    )
    assert answer.status_code == 302


def test_an_email_channel_needs_addresses(client):
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    answer = client.post(ADD, _form(kind="email", audience="finance", recipients="not-an-address"))
    assert "recipients" in answer.context["adminform"].form.errors
    assert client.post(ADD, _form(kind="email", audience="finance", recipients="f@example.cn")).status_code == 302


def test_send_a_test_message(client, two_outlets, robots):
    c = channel("feishu", robots.feishu_url("F", "s"), "s", audience=Audience.OUTLET, outlet=two_outlets["a"])
    client.force_login(two_outlets["staff_a"])
    answer = client.post(f"/admin/notifications/channel/{c.pk}/do/test/", follow=True)
    assert answer.status_code == 200
    (body,) = robots.bodies("F")
    assert body["content"]["post"]["zh_cn"]["title"] == "来自拦截平台的测试消息"
    assert Send.objects.get(channel=c).outcome == Send.Outcome.SENT


def test_a_failed_test_message_says_why(client, robots):
    c = channel("feishu", robots.feishu_url("F", "right"), "wrong")
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    answer = client.post(f"/admin/notifications/channel/{c.pk}/do/test/", follow=True)
    assert "19021" in answer.content.decode()
