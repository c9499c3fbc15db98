"""Issue 19: what customer service and outlet staff meet on screen every day (safe defaults, decisions, trails)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from interception import services
from interception.models import AfterSale, Contract
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


def listed(client, url, objects):
    page = client.get(url)
    assert page.status_code == 200, url
    body = page.content.decode()
    return {o.pk for o in objects if f"/{o.pk}/change/" in body}


# --- item 7: safe defaults -------------------------------------------------------------------------------------------


def test_r13_record_a_result_has_no_outcome_chosen_in_advance(client, cs):
    order = factories.started()
    client.force_login(cs)
    url = f"/admin/interception/interceptionorder/{order.pk}/do/result/"
    page = client.get(url).content.decode()
    assert '<option value="" selected>' in page
    assert 'value="succeeded" selected' not in page
    # A careless submit without a choice records nothing (and refunds nobody).
    response = client.post(url, {"note": "电话确认"})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.state == "intercepting"


def test_outlet_queue_opens_on_pending_applications_oldest_first(client):
    outlet = factories.OutletFactory(code="Q-1")
    staff = factories.outlet_staff("staff_q", outlet)
    older, newer, decided = (factories.apply(factories.contract_setup(outlet=outlet)[0], outlet) for _ in range(3))
    Contract.objects.filter(pk=older.pk).update(applied_at=timezone.now() - timedelta(days=3))
    services.contract_approve(contract_id=decided.pk, actor=None)
    client.force_login(staff)
    body = client.get("/admin/interception/contract/").content.decode()
    assert f"/contract/{decided.pk}/change/" not in body
    assert body.index(f"/contract/{older.pk}/change/") < body.index(f"/contract/{newer.pk}/change/")
    # Everything is one click away, and stays so.
    assert listed(client, "/admin/interception/contract/?state__exact=all", [older, newer, decided]) == {
        older.pk,
        newer.pk,
        decided.pk,
    }
    assert listed(client, "/admin/interception/contract/?state__exact=active", [older, newer, decided]) == {decided.pk}


def test_aftersale_list_opens_on_what_still_needs_work(client, cs):
    waiting = factories.interceptable()
    refunded = factories.after_sale_for(factories.parcel_for(factories.active_contract()))
    services.aftersale_agree_refund(after_sale_id=refunded.pk, actor=None, reason="")
    assert AfterSale.objects.get(pk=refunded.pk).state == AfterSale.State.REFUNDED
    client.force_login(cs)
    assert listed(client, "/admin/interception/aftersale/", [waiting, refunded]) == {waiting.pk}
    assert listed(client, "/admin/interception/aftersale/?state__exact=all", [waiting, refunded]) == {
        waiting.pk,
        refunded.pk,
    }
    assert listed(client, "/admin/interception/aftersale/?state__exact=refunded", [waiting, refunded]) == {refunded.pk}


# --- item 10: a confirmation before starting -------------------------------------------------------------------------


def test_r11_start_asks_to_confirm_the_fee_and_that_it_cannot_be_cancelled(client, cs):
    after_sale = factories.interceptable(fee="5.00")
    client.force_login(cs)
    url = f"/admin/interception/aftersale/{after_sale.pk}/intercept/"
    page = client.get(url).content.decode()
    assert 'name="understood"' in page
    assert "¥5.00" in page and "不能取消" in page
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 200 and not after_sale.interceptions.exists()
    assert 'class="portal-confirm errors"' in unconfirmed.content.decode()
    confirmed = client.post(url, {"understood": "on"})
    assert confirmed.status_code == 302 and after_sale.interceptions.get().mode == "return_sender"
