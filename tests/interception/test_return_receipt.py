"""The return closes (issue 19 item 14): customer service confirms that the returned parcel arrived (退件签收), or
that it arrived damaged, and a damage claim can then be filed (R13, R23)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from claims import services as claim_services
from interception import services
from interception.models import InterceptionOrder
from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def returning(cs):
    order = factories.started(platform_code="douyin", carrier_code="yto")
    for result in ("succeeded", "returning"):
        services.interception_record_result(
            order_id=order.pk, actor=None, result=result, at=timezone.now(), source="callback"
        )
    return order


def action_url(order, name):
    return f"/admin/interception/interceptionorder/{order.pk}/do/{name}/"


def test_r13_customer_service_confirms_the_returned_parcel_arrived(client, cs):
    order = returning(cs)
    client.force_login(cs)
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "退件已签收" in page and "退件到货破损" in page
    response = client.post(action_url(order, "return_received"), {"note": "仓库已签收"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.RETURNED and order.returned_at is not None
    assert order.result_source != InterceptionOrder.Source.RECEIPT  # the carrier's result stays the carrier's
    last = list(timeline.entries_for(order))[-1]
    assert (last.transition, last.actor, last.reason) == ("return_done", cs, "仓库已签收")
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "退件已签收" not in page  # the return is finished: nothing left to confirm


def test_r23_damaged_on_arrival_fails_the_return_and_opens_a_damage_claim(client, cs):
    order = returning(cs)
    client.force_login(cs)
    page = client.post(action_url(order, "return_damaged"), {"note": ""}).content.decode()
    assert "这个字段是必填项" in page or "必填" in page
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.RETURNING
    client.post(action_url(order, "return_damaged"), {"note": "外箱压坏，杯子碎了"})
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.RETURN_FAILED and order.return_loss == "damaged"
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert f"/admin/claims/claim/file/?tracking_number={order.tracking_number}&amp;kind=damage" in page
    page = client.get(f"/admin/claims/claim/file/?tracking_number={order.tracking_number}&kind=damage").content
    assert b'value="damage" selected' in page
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    photo = SimpleUploadedFile("damage.png", buffer.getvalue(), content_type="image/png")
    claim = claim_services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[photo])
    assert claim.kind == "damage"


def test_r13_a_return_cannot_be_confirmed_before_the_interception_succeeded_or_twice(cs):
    order = factories.started(platform_code="douyin", carrier_code="yto")
    with pytest.raises(DomainError):
        services.interception_confirm_return(order_id=order.pk, actor=cs)
    with pytest.raises(DomainError) as exc:
        services.interception_confirm_return(order_id=order.pk, actor=cs, damaged=True, note="  ")
    assert exc.value.code == "note_required"
    services.interception_record_result(order_id=order.pk, actor=None, result="succeeded", source="callback")
    services.interception_confirm_return(order_id=order.pk, actor=cs)
    with pytest.raises(DomainError):
        services.interception_confirm_return(order_id=order.pk, actor=cs, damaged=True, note="后来发现破损")


def test_outlet_staff_cannot_close_a_return(client, cs):
    order = returning(cs)
    staff = factories.outlet_staff("o1", order.outlet)
    client.force_login(staff)
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "退件已签收" not in page
    response = client.post(action_url(order, "return_received"), {})
    assert '<li class="error">您无权执行此操作。</li>' in response.content.decode()
    order.refresh_from_db()
    assert order.state == InterceptionOrder.State.RETURNING
