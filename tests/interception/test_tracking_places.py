"""Issue 19: a tracking event has its place, as the carrier's protocol gives it (kuaidi100's areaName, the
`place` of our own callback format), and the trail shows it beside the time and the carrier's words on the
parcel, interception and after-sale pages, newest first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from interception.models import TrackingEvent
from portal import roles
from tests import factories
from tests.interception.test_carrier_callbacks import event, post
from tests.interception.test_kuaidi100_tracking import PUSH, arrived, push, trail

pytestmark = pytest.mark.django_db


def places(parcel):
    return list(TrackingEvent.objects.filter(parcel=parcel).order_by("at").values_list("raw_text", "place"))


def test_kuaidi100_pushes_keep_each_entrys_area_as_its_place(client, k100, k100_zto):
    parcel = arrived()
    entries = PUSH["lastResult"]["data"]
    assert push(client, trail(parcel, entries)).json()["result"] is True
    assert places(parcel) == [
        ("【金华市】义乌网点 已揽收", "浙江,金华市,义乌市"),
        ("【金华市】快件已发往 杭州转运中心", "浙江,金华市"),
        ("【杭州市】快件已到达 杭州转运中心", "浙江,杭州市"),
    ]


def test_kuaidi100_entries_without_an_area_have_no_place(client, k100, k100_zto):
    parcel = arrived()
    entries = [{k: v for k, v in PUSH["lastResult"]["data"][0].items() if k != "areaName"}]
    assert push(client, trail(parcel, entries)).json()["result"] is True
    assert places(parcel) == [("【杭州市】快件已到达 杭州转运中心", "")]


def test_a_kuaidi100_area_longer_than_its_column_refuses_the_push_naming_it(client, k100, k100_zto):
    parcel = arrived()
    entries = [dict(PUSH["lastResult"]["data"][0], areaName="浙" * 101)]
    body = push(client, trail(parcel, entries)).json()
    assert body["result"] is False and body["returnCode"] == "400"
    assert body["message"].startswith("invalid_event [lastResult.data[0].areaName]")
    assert not TrackingEvent.objects.filter(parcel=parcel).exists()


def test_our_callback_format_takes_an_optional_place(client, jt):
    parcel = factories.parcel_for(factories.active_contract())
    body = event("P1", "tracking", parcel.tracking_number, status="in_transit", text="到达", place="上海,青浦区")
    assert post(client, body).status_code == 200
    body = event("P2", "tracking", parcel.tracking_number, status="in_transit", text="离开")
    assert post(client, body).status_code == 200
    assert set(places(parcel)) >= {("到达", "上海,青浦区"), ("离开", "")}


@pytest.mark.parametrize(("place", "code"), [("沪" * 101, "too_long"), (7, "not_text"), ("a\x00b", None)])
def test_a_place_that_cannot_be_stored_is_refused_naming_it(client, jt, place, code):
    parcel = factories.parcel_for(factories.active_contract())
    body = event("P3", "tracking", parcel.tracking_number, status="in_transit", text="到达", place=place)
    response = post(client, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["place"] and (code is None or errors[0]["code"] == code)
    assert not TrackingEvent.objects.filter(parcel=parcel, raw_text="到达").exists()


def test_the_trail_shows_each_events_place_newest_first_on_all_three_pages(client):
    order = factories.started()
    now = timezone.now()
    factories.track(order.parcel, "in_transit", at=now - timedelta(hours=2), text="快件已发出", place="浙江,杭州市")
    factories.track(order.parcel, "in_transit", at=now - timedelta(hours=1), text="快件已到达", place="上海,青浦区")
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    for url in (
        f"/admin/interception/parcel/{order.parcel_id}/change/",
        f"/admin/interception/interceptionorder/{order.pk}/change/",
        f"/admin/interception/aftersale/{order.after_sale_id}/change/",
    ):
        page = client.get(url).content.decode()
        assert "地点" in page, url
        assert "上海,青浦区" in page and "浙江,杭州市" in page, url
        assert page.index("上海,青浦区") < page.index("浙江,杭州市"), f"{url}: newest first"
