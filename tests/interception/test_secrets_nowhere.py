"""A secret entered in the admin appears in no page, log, export or API answer (issue: carrier credentials).

A supervisor configures ZTO on kuaidi100 and an outlet's e-waybill account in the admin; an interception goes
to the local kuaidi100 (its calls logged); then every place a person or a system reads is searched for the
secrets, as typed and URL-encoded.
"""

import logging
from urllib.parse import quote, quote_plus

import pytest

from interception import services
from interception.master_data import EwaybillAccountResource, OutletResource
from interception.models import CarrierCall, EwaybillAccount, InterceptionOrder
from portal import roles
from tests import factories
from tests.interception.kuaidi100_fake import KEY, SALT, SECRET

pytestmark = pytest.mark.django_db

PARTNER_KEY, PARTNER_SECRET = "pk-Zx9&Q/+=", "ps-Wq7%R?#"
SECRETS = [KEY, SECRET, SALT, PARTNER_KEY, PARTNER_SECRET]


def forms_of(value):
    return {value, quote(value, safe=""), quote_plus(value)}


def assert_no_secret(where, text):
    for secret in SECRETS:
        for form in forms_of(secret):
            assert form not in text, f"{secret!r} appears in {where}"


@pytest.fixture
def configured(client, k100, django_capture_on_commit_callbacks):
    """ZTO configured for kuaidi100 and an e-waybill account's credentials, both through the admin forms."""
    after_sale = factories.interceptable(carrier_code="zto")
    carrier = after_sale.parcel.carrier
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    answer = client.post(
        f"/admin/interception/carrier/{carrier.pk}/change/",
        {
            "code": carrier.code,
            "name": carrier.name,
            "adapter": "kuaidi100",
            "service_code": "zhongtong",
            "cred__kuaidi100__key": KEY,
            "cred__kuaidi100__secret": SECRET,
            "cred__kuaidi100__salt": SALT,
        },
    )
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    account = EwaybillAccount.objects.get(merchant=after_sale.merchant, outlet=after_sale.parcel.outlet)
    answer = client.post(
        f"/admin/interception/ewaybillaccount/{account.pk}/change/",
        {
            "merchant": account.merchant_id,
            "outlet": account.outlet_id,
            "platform": account.platform_id,
            "active": "on",
            "cred__kuaidi100__partnerId": "P-1001",
            "cred__kuaidi100__partnerKey": PARTNER_KEY,
            "cred__kuaidi100__partnerSecret": PARTNER_SECRET,
        },
    )
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    with django_capture_on_commit_callbacks(execute=True):
        order = services.interception_start(
            after_sale_id=after_sale.pk, actor=factories.user("cs", roles.CUSTOMER_SERVICE)
        )
    return order, account


def test_the_secrets_reach_kuaidi100_and_nothing_else(client, k100, configured, api, caplog):
    caplog.set_level(logging.DEBUG)
    order, account = configured
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.INTERCEPTING  # the secrets worked: kuaidi100 took the request
    (path, form, param) = k100.requests[-1]
    assert form["key"] == KEY and param["partnerKey"] == PARTNER_KEY and param["partnerSecret"] == PARTNER_SECRET

    call = CarrierCall.objects.get(interception=order)
    assert_no_secret("the call log", call.request + call.response + call.url + call.service_message)
    assert "P-1001" in call.request  # what is not secret stays readable

    pages = [
        f"/admin/interception/carrier/{order.carrier_id}/change/",
        "/admin/interception/carrier/",
        f"/admin/interception/ewaybillaccount/{account.pk}/change/",
        "/admin/interception/ewaybillaccount/",
        f"/admin/interception/interceptionorder/{order.pk}/change/",
        "/admin/interception/carriercall/",
        f"/admin/interception/carriercall/{call.pk}/change/",
        "/admin/interception/carrierevent/",
        "/admin/",
        "/admin/interception/interceptionorder/export/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert_no_secret(url, body.decode("utf-8", "replace"))
    for model, resource in (("ewaybillaccount", EwaybillAccountResource), ("outlet", OutletResource)):
        every_column = {f"{resource.__name__.lower()}_{f}": "on" for f in resource._meta.fields}
        export = client.post(f"/admin/interception/{model}/export/", {"format": "0", "resource": "0", **every_column})
        assert export.status_code == 200 and "P-1001" not in export.content.decode("utf-8")
        assert account.merchant.code in export.content.decode("utf-8") or model == "outlet"
        assert_no_secret(f"the {model} export", export.content.decode("utf-8", "replace"))

    merchant_api = api(factories.api_client_for(merchant=order.merchant))
    carrier_api = api(factories.api_client_for(carrier=order.carrier))
    for caller, url in [
        (merchant_api, f"/api/v1/interceptions/{order.pk}/"),
        (merchant_api, "/api/v1/ewaybill-accounts/"),
        (carrier_api, "/api/v1/interceptions/"),
        (carrier_api, f"/api/v1/interceptions/lookup/?tracking_number={order.tracking_number}"),
        (carrier_api, "/api/v1/outlets/"),
    ]:
        response = caller.get(url)
        assert response.status_code == 200, url
        assert_no_secret(url, response.content.decode())
    assert_no_secret("the logs", caplog.text)
