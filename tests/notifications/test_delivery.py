"""The outbox delivered to the robots' fake services: signatures, formats, grouping, rate limits, failures."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from notifications import enqueue
from notifications.delivery import deliver
from notifications.models import Audience, Channel, Notification, Send
from tests.notifications.helpers import channel

pytestmark = pytest.mark.django_db


def _tell(n=1, *, event="interception.failed", title="拦截失败，需要处理", audience=Audience.CUSTOMER_SERVICE, **kw):
    for i in range(n):
        enqueue(event=event, audience=audience, title=title, line=f"单号 JT{i:05d}", link=f"/admin/x/{i}/", **kw)


def test_wecom_gets_markdown_with_a_link_to_the_admin(robots, settings):
    settings.PORTAL_URL = "https://portal.example.cn"
    channel("wecom", robots.wecom_url("K1"))
    _tell()
    report = deliver()
    (body,) = robots.bodies("K1")
    assert body["msgtype"] == "markdown"
    assert (
        body["markdown"]["content"] == "**拦截失败，需要处理**\n> [单号 JT00000](https://portal.example.cn/admin/x/0/)"
    )
    assert report.sent == 1
    assert Notification.objects.get().state == Notification.State.SENT
    assert Send.objects.get().outcome == Send.Outcome.SENT


def test_dingtalk_is_signed_and_the_fake_checks_the_signature(robots):
    channel("dingtalk", robots.dingtalk_url("T1", "SECabc"), "SECabc")
    _tell()
    deliver()
    (body,) = robots.bodies("T1")
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "拦截失败，需要处理"
    assert "JT00000" in body["markdown"]["text"]
    assert robots.refused == []


def test_dingtalk_with_the_wrong_secret_is_refused_by_the_robot_and_the_answer_logged(robots):
    channel("dingtalk", robots.dingtalk_url("T1", "SECright"), "SECwrong")
    _tell()
    deliver()
    assert robots.bodies("T1") == [] and robots.refused[0][2] == "signature"
    send = Send.objects.get()
    assert send.outcome == Send.Outcome.FAILED and "310000" in send.answer
    assert "310000" in Notification.objects.get().last_error


def test_feishu_is_signed_in_the_body_as_a_post(robots):
    channel("feishu", robots.feishu_url("F1", "fsec"), "fsec")
    _tell()
    deliver()
    (body,) = robots.bodies("F1")
    post = body["content"]["post"]["zh_cn"]
    assert body["msg_type"] == "post" and post["title"] == "拦截失败，需要处理"
    assert post["content"][0][0]["tag"] == "a" and post["content"][0][0]["text"] == "单号 JT00000"


def test_feishu_bad_signature_19021_is_a_failure_with_the_reason(robots):
    channel("feishu", robots.feishu_url("F1", "right"), "wrong")
    _tell()
    deliver()
    assert "19021" in Notification.objects.get().last_error


def test_a_rolled_back_action_sends_nothing(robots):
    channel("wecom", robots.wecom_url("K1"))
    with pytest.raises(RuntimeError), transaction.atomic():
        _tell()
        raise RuntimeError("the action failed after writing its notification")
    assert deliver().sent == 0
    assert robots.received == [] and not Notification.objects.exists()


def test_messages_of_one_event_waiting_together_go_out_as_one(robots):
    channel("wecom", robots.wecom_url("K1"))
    _tell(3)
    _tell(1, event="statement.disputed", title="对账单有异议")
    deliver()
    bodies = [b["markdown"]["content"] for b in robots.bodies("K1")]
    assert len(bodies) == 2
    assert bodies[0].startswith("**拦截失败，需要处理（3）**") and bodies[0].count("\n> ") == 3
    assert bodies[1].startswith("**对账单有异议**")


def test_a_group_too_big_for_one_message_is_split_within_wecoms_4096_bytes(robots):
    channel("wecom", robots.wecom_url("K1"))
    for i in range(120):
        enqueue(
            event="e", audience=Audience.CUSTOMER_SERVICE, title="t", line="很长的一行" * 8 + str(i), link=f"/a/{i}/"
        )
    deliver()
    assert robots.refused == []
    assert len(robots.bodies("K1")) > 1
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 120


def test_only_the_audiences_channels_and_only_that_outlets(robots):
    mine = channel("wecom", robots.wecom_url("MINE"), audience=Audience.OUTLET)
    channel("wecom", robots.wecom_url("OTHER"), audience=Audience.OUTLET)
    channel("wecom", robots.wecom_url("FIN"), audience=Audience.FINANCE)
    _tell(audience=Audience.OUTLET, outlet_id=mine.outlet_id)
    deliver()
    assert len(robots.bodies("MINE")) == 1 and robots.bodies("OTHER") == [] and robots.bodies("FIN") == []


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_too_fast_waits_and_then_sends_again(robots, kind):
    url = {
        "wecom": lambda: robots.wecom_url("R"),
        "dingtalk": lambda: robots.dingtalk_url("R", "s"),
        "feishu": lambda: robots.feishu_url("R", "s"),
    }[kind]()
    c = channel(kind, url, "s")
    robots.script["R"].append("too_fast")
    _tell()
    now = timezone.now()
    report = deliver(now=now)
    assert report.too_fast == 1 and robots.bodies("R") == []
    assert Send.objects.get().outcome == Send.Outcome.TOO_FAST
    c.refresh_from_db()
    assert c.next_send_at > now
    assert deliver(now=now + timedelta(seconds=5)).sent == 0  # still waiting
    assert deliver(now=c.next_send_at).sent == 1
    assert len(robots.bodies("R")) == 1
    n = Notification.objects.get()
    assert n.state == Notification.State.SENT and n.attempts == 1  # a "too fast" is not a failed attempt


def test_wecom_20_a_minute_is_kept(robots):
    channel("wecom", robots.wecom_url("K1"))
    for i in range(25):
        enqueue(event=f"e{i}", audience=Audience.CUSTOMER_SERVICE, title=f"标题{i}", line="x")
    now = timezone.now()
    assert deliver(now=now).sent == 20
    assert deliver(now=now + timedelta(seconds=30)).sent == 0
    assert deliver(now=now + timedelta(seconds=61)).sent == 5
    assert len(robots.bodies("K1")) == 25


def test_feishu_5_a_second_is_kept(robots):
    channel("feishu", robots.feishu_url("F1", "s"), "s")
    for i in range(7):
        enqueue(event=f"e{i}", audience=Audience.CUSTOMER_SERVICE, title=f"标题{i}", line="x")
    now = timezone.now()
    assert deliver(now=now).sent == 5
    assert deliver(now=now + timedelta(milliseconds=1100)).sent == 2


def test_a_channel_answering_500_is_retried_then_given_up_with_the_reason(robots, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    channel("wecom", robots.wecom_url("K1"))
    robots.script["K1"].extend([500, 500, 500])
    _tell()
    now = timezone.now()
    assert deliver(now=now).failed == 1
    n = Notification.objects.get()
    assert n.state == Notification.State.PENDING and n.attempts == 1 and n.next_attempt_at > now
    assert deliver(now=now + timedelta(seconds=10)).failed == 0  # backing off
    later = n.next_attempt_at
    assert deliver(now=later).failed == 1
    n.refresh_from_db()
    assert deliver(now=n.next_attempt_at).given_up == 1
    n.refresh_from_db()
    assert n.state == Notification.State.GIVEN_UP and n.last_error == "HTTP 500"
    outcomes = list(Send.objects.order_by("id").values_list("outcome", "http_status"))
    assert outcomes == [("failed", 500), ("failed", 500), ("given_up", 500)]


def test_an_answer_that_is_not_json_is_a_failure(robots):
    channel("wecom", robots.wecom_url("K1"))
    robots.script["K1"].append("bad_json")
    _tell()
    assert deliver().failed == 1


def test_a_dead_channel_does_not_hold_up_the_others(robots, settings):
    settings.NOTIFY_CONNECT_TIMEOUT = 0.5
    dead = channel("wecom", "http://127.0.0.1:9/cgi-bin/webhook/send?key=DEAD", name="dead")
    channel("wecom", robots.wecom_url("LIVE"), name="live")
    _tell(2)
    _tell(1, title="另一件事")
    report = deliver()
    assert report.sent == 3 and len(robots.bodies("LIVE")) == 2
    dead.refresh_from_db()
    assert dead.next_send_at is not None
    assert Notification.objects.filter(channel=dead, state=Notification.State.PENDING).count() == 3
    assert "ConnectionError" in Send.objects.get(channel=dead).answer


def test_email_goes_through_djangos_mail_backend():
    channel("email", audience=Audience.FINANCE, recipients="fin@example.cn, boss@example.cn")
    _tell(2, audience=Audience.FINANCE)
    assert deliver().sent == 2
    (message,) = mail.outbox
    assert message.subject == "拦截失败，需要处理（2）" and message.to == ["fin@example.cn", "boss@example.cn"]
    assert "单号 JT00001" in message.body


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_deliver_each_message_once(robots):
    for i in range(6):
        channel("wecom", robots.wecom_url(f"K{i}"), name=f"c{i}")
    for i in range(15):  # within WeCom's 20 a minute, so that one pass may send them all
        enqueue(event=f"e{i}", audience=Audience.CUSTOMER_SERVICE, title=f"事件{i}", line=f"L{i}")
    barrier = threading.Barrier(2)
    errors = []

    def runner():
        try:
            barrier.wait()
            deliver()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(6):  # each channel got each message exactly once
        contents = [b["markdown"]["content"] for b in robots.bodies(f"K{i}")]
        assert sorted(contents) == sorted(f"**事件{n}**\n> L{n}" for n in range(15))
    assert Send.objects.count() == 90
    assert not Notification.objects.exclude(state=Notification.State.SENT).exists()
    assert Channel.objects.count() == 6
