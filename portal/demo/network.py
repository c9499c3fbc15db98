"""Demo network: outlets, merchants, e-waybill accounts, the four logins. Idempotent."""

import random
import secrets

from django.contrib.auth.models import Group, User

from interception import services
from interception.models import (
    ApiClient,
    Carrier,
    EwaybillAccount,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
)
from portal import roles

PASSWORD = "demo12345"
LOGINS = [
    ("supervisor", roles.SUPERVISOR, "主管"),
    ("cs", roles.CUSTOMER_SERVICE, "客服"),
    ("outlet", roles.OUTLET_STAFF, "网点"),
    ("finance", roles.FINANCE, "财务"),
]
REGIONS = [
    "上海市浦东新区",
    "杭州市余杭区",
    "广州市白云区",
    "深圳市龙岗区",
    "义乌市",
    "成都市武侯区",
    "武汉市洪山区",
    "金华市",
    "苏州市吴中区",
    "东莞市",
]
SHOP_WORDS = ["优选", "好物", "旗舰店", "生活馆", "工厂店", "家居", "美妆", "童装", "数码", "鲜果", "茶叶", "文具"]
OUTLETS_PER_CARRIER = 5
MERCHANTS = 50


def seed(stdout, *, new_token=True):
    """`new_token`: give the demo's API client a new token to print (only a hash is kept, so a token
    printed before cannot be printed again and is revoked); otherwise it gets one only if it has none."""
    rng = random.Random(20261123)
    users = _logins()
    platforms = {p.code: p for p in Platform.objects.all()}
    carriers = {c.code: c for c in Carrier.objects.all()}
    for carrier in carriers.values():
        if not carrier.callback_secret:
            carrier.callback_secret = secrets.token_hex(24)
            carrier.save(update_fields=["sealed_credentials", "credentials_set_at"])

    outlets = []
    for carrier in carriers.values():
        for n in range(1, OUTLETS_PER_CARRIER + 1):
            region = REGIONS[(n * 3 + len(carrier.code)) % len(REGIONS)]
            outlet, _ = Outlet.objects.get_or_create(
                carrier=carrier,
                code=f"{carrier.code.upper()}-{n:03d}",
                defaults={"name": f"{carrier.name.split()[0]}{region[:2]}{n}号网点", "region": region},
            )
            outlets.append(outlet)

    merchants = []
    for n in range(1, MERCHANTS + 1):
        platform = platforms["douyin"] if n % 2 else platforms["kuaishou"]
        merchant, _ = Merchant.objects.get_or_create(
            code=f"M{n:04d}",
            defaults={
                "name": f"{rng.choice(REGIONS)[:2]}{rng.choice(SHOP_WORDS)}{n}",
                "platform": platform,
                "cross_border": n % 17 == 0,
                "operating_status": Merchant.Status.RESTRICTED if n % 23 == 0 else Merchant.Status.OPERATING,
            },
        )
        merchants.append(merchant)

    for merchant in merchants:
        for outlet in rng.sample(outlets, 4):
            EwaybillAccount.objects.get_or_create(
                merchant=merchant, outlet=outlet, platform=merchant.platform, defaults={"active": rng.random() > 0.1}
            )

    # The outlet login works for two outlets that review applications (not YTO).
    for outlet in Outlet.objects.filter(code__in=["JT-001", "ZTO-001"]):
        OutletMembership.objects.get_or_create(user=users["outlet"], outlet=outlet)
        # Every merchant deals with both of them, so their queue is never empty.
        for merchant in merchants[:20]:
            EwaybillAccount.objects.get_or_create(
                merchant=merchant, outlet=outlet, platform=merchant.platform, defaults={"active": True}
            )

    client_user, _ = User.objects.get_or_create(username="api-m0001")
    client, _ = ApiClient.objects.get_or_create(
        user=client_user, defaults={"name": "M0001 ERP", "merchant": merchants[0]}
    )
    merchant_token = None
    has_token = client_user.api_tokens.filter(revoked_at__isnull=True).exists()
    if not has_token:
        merchant_token = services.api_token_issue(client=client, actor=None).key
    elif new_token:
        merchant_token = services.api_token_rotate(client=client, actor=None).key
    return {
        "users": users,
        "merchant_token": merchant_token,
        "carriers": carriers,
        "outlets": outlets,
        "merchants": merchants,
        "rng": rng,
    }


def _logins():
    users = {}
    for username, role, first_name in LOGINS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": first_name}
        )
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.is_staff = True
            user.save()
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users
