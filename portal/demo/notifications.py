"""The demo tells its people by e-mail: one channel per team and for the outlet login's outlets. The demo's mail
backend is the console, so `make demo` prints each message its notification sender delivers, and the admin's
Notifications › Notifications page lists them, sent."""

from django.db.models import Count, Q

from interception.models import Outlet
from notifications.models import Audience, Channel, ChannelKind, Notification

TEAMS = [
    (Audience.CUSTOMER_SERVICE, "客服组邮件", "cs@demo.example.cn"),
    (Audience.FINANCE, "财务组邮件", "finance@demo.example.cn"),
    (Audience.SUPERVISORS, "主管邮件", "supervisor@demo.example.cn"),
]


def seed(world):
    """Before the other seeds, so the applications, failures and statements they make are told."""
    for audience, name, address in TEAMS:
        _channel(name=name, audience=audience, outlet=None, recipients=address)
    for outlet in Outlet.objects.filter(code__in=["JT-001", "ZTO-001"]).order_by("code"):
        _channel(
            name=f"{outlet.name}邮件",
            audience=Audience.OUTLET,
            outlet=outlet,
            recipients=f"{outlet.code.lower()}@demo.example.cn",
        )


def _channel(*, name, audience, outlet, recipients):
    channel, created = Channel.objects.get_or_create(
        name=name,
        audience=audience,
        outlet=outlet,
        defaults={"kind": ChannelKind.EMAIL, "recipients": recipients},
    )
    if created:
        channel.set_credentials({})
        channel.save()
    return channel


def summary():
    counts = Notification.objects.aggregate(
        waiting=Count("pk", filter=Q(state=Notification.State.PENDING)),
        sent=Count("pk", filter=Q(state=Notification.State.SENT)),
    )
    return {"channels": Channel.objects.count(), **counts}
