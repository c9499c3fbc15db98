"""Merchant webhooks: registered by the merchant's API client, signed with its own secret, retried for
24 hours, listed for the client (only its own) and delivered again from the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import enqueue_webhook
from notifications.delivery import deliver
from notifications.models import WebhookDelivery
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


def _register(api, client_user, url, events=("interception.failed",)):
    return api(client_user).post("/api/v1/webhooks/", {"url": url, "events": list(events)}, format="json")


def test_a_registered_webhook_gets_each_event_signed_with_the_clients_secret(api, receiver):
    merchant = factories.MerchantFactory()
    client = factories.api_client_for(merchant=merchant)
    answer = _register(api, client, receiver.url, ["interception.failed", "interception.succeeded"])
    assert answer.status_code == 201, answer.content
    receiver.secret = answer.json()["secret"]
    assert "secret" not in api(client).get(f"/api/v1/webhooks/{answer.json()['id']}/").json()  # shown once

    enqueue_webhook(event="interception.failed", merchant_id=merchant.pk, data={"tracking_number": "JT1"})
    enqueue_webhook(event="aftersale.refunded", merchant_id=merchant.pk, data={"x": 1})  # not chosen
    report = deliver()
    assert report.webhooks_delivered == 1 and receiver.rejected == []
    ((headers, body),) = receiver.received
    delivery = WebhookDelivery.objects.get()
    assert body == {
        "id": str(delivery.event_id),
        "type": "interception.failed",
        "created_at": delivery.created_at.isoformat(),
        "data": {"tracking_number": "JT1"},
    }
    assert headers["X-Event-Id"] == str(delivery.event_id) and headers["X-Event-Type"] == "interception.failed"
    assert delivery.state == WebhookDelivery.State.DELIVERED


def test_a_failing_receiver_is_retried_with_the_same_event_id_then_given_up_after_24_hours(api, receiver):
    merchant = factories.MerchantFactory()
    client = factories.api_client_for(merchant=merchant)
    receiver.secret = _register(api, client, receiver.url).json()["secret"]
    receiver.script.extend([500] * 100)
    enqueue_webhook(event="interception.failed", merchant_id=merchant.pk, data={})
    now = timezone.now()
    assert deliver(now=now).webhooks_failed == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.PENDING and delivery.next_attempt_at == now + timedelta(minutes=1)
    t, rounds = now, 0
    while delivery.state == WebhookDelivery.State.PENDING and rounds < 60:
        t = delivery.next_attempt_at
        deliver(now=t)
        delivery.refresh_from_db()
        rounds += 1
    assert delivery.state == WebhookDelivery.State.GIVEN_UP
    assert t - now <= timedelta(hours=24) and delivery.last_status == 500
    assert delivery.attempt_log.count() == delivery.attempts > 5
    # "deliver again": the same event id, and the receiver now takes it
    from notifications.services import webhook_redeliver

    receiver.script.clear()
    webhook_redeliver(delivery_id=delivery.pk, actor=None)
    assert deliver().webhooks_delivered == 1
    assert receiver.received[0][1]["id"] == str(delivery.event_id)


def test_a_client_sees_only_its_own_deliveries(api, receiver):
    mine, theirs = factories.MerchantFactory(), factories.MerchantFactory()
    me, other = factories.api_client_for(merchant=mine), factories.api_client_for(merchant=theirs)
    _register(api, me, receiver.url)
    _register(api, other, receiver.url)
    enqueue_webhook(event="interception.failed", merchant_id=mine.pk, data={"n": 1})
    enqueue_webhook(event="interception.failed", merchant_id=theirs.pk, data={"n": 2})
    listed = api(me).get("/api/v1/webhook-deliveries/").json()["results"]
    assert [d["payload"]["data"] for d in listed] == [{"n": 1}]
    their_id = WebhookDelivery.objects.get(endpoint__client__merchant=theirs).pk
    assert api(me).get(f"/api/v1/webhook-deliveries/{their_id}/").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["http://shop.example.cn/hook", "https://localhost/hook", "https://10.0.0.8/hook", "ftp://x", "x" * 501],
)
def test_a_webhook_address_must_be_public_https(api, settings, url):
    settings.NOTIFY_TEST_HOSTS = []
    client = factories.api_client_for(merchant=factories.MerchantFactory())
    answer = _register(api, client, url)
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "url"


def test_unknown_events_are_refused(api):
    client = factories.api_client_for(merchant=factories.MerchantFactory())
    answer = _register(api, client, "https://shop.example.cn/hook", ["parcel.teleported"])
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"].startswith("events")


def test_only_a_merchants_client_has_webhooks(api):
    carrier_client = factories.api_client_for(carrier=factories.carrier("jt"))
    assert _register(api, carrier_client, "https://x.example.cn/h").status_code == 403
    staff = factories.user("cs", roles.CUSTOMER_SERVICE)
    assert api(staff).get("/api/v1/webhook-deliveries/").status_code == 403


def test_supervisor_delivers_again_from_the_admin(client, api, receiver):
    merchant = factories.MerchantFactory()
    me = factories.api_client_for(merchant=merchant)
    receiver.secret = _register(api, me, receiver.url).json()["secret"]
    enqueue_webhook(event="interception.failed", merchant_id=merchant.pk, data={})
    delivery = WebhookDelivery.objects.get()
    delivery.state = WebhookDelivery.State.GIVEN_UP
    delivery.save()
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    page = client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    answer = client.post(f"/admin/notifications/webhookdelivery/{delivery.pk}/do/deliver-again/")
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PENDING
    assert deliver().webhooks_delivered == 1
