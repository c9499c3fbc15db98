"""Claims (R23-R26): who may claim, evidence, the cap, the arbitration window, uploads and scoping."""

import contextlib
import io
import random
import struct
import zlib
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client
from PIL import Image

from claims import services
from claims.models import Claim, Evidence
from interception import services as interception_services
from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
SUCCEEDED = datetime(2026, 11, 1, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cs(db):
    return factories.user("cs1", roles.CUSTOMER_SERVICE)


def returned_badly(loss="lost", platform_code="douyin", value="120.00"):
    contract = factories.active_contract(carrier_code="yto", platform_code=platform_code)
    from interception.models import InterceptionAgreement

    if not InterceptionAgreement.objects.filter(merchant=contract.merchant).exists():
        interception_services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    order = factories.started(factories.after_sale_for(factories.parcel_for(contract, value=value)))
    for result in ("succeeded", "returning", loss):
        interception_services.interception_record_result(
            order_id=order.pk, actor=None, result=result, at=SUCCEEDED, source="callback"
        )
    order.refresh_from_db()
    return order


def png(size=(8, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return SimpleUploadedFile("damage.png", buffer.getvalue(), content_type="image/png")


def test_r23_a_loss_claim_on_a_lost_return_prefills_the_parcels_goods(cs):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss", now=SUCCEEDED + timedelta(days=1))
    assert claim.state == Claim.State.FILED and claim.goods_value == Decimal("120.00")
    assert claim.claimed_amount == Decimal("120.00") and claim.offer_side == Claim.Side.MERCHANT
    assert list(claim.goods.values_list("name", "quantity", "value")) == [("羊毛围巾", 1, Decimal("120.00"))]
    assert [e.transition for e in timeline.entries_for(claim)] == ["file"]


def test_r23_no_claim_while_the_return_is_fine_or_the_interception_failed(cs):
    contract = factories.active_contract(carrier_code="zto")
    returned = factories.intercepted(contract)
    interception_services.interception_record_result(
        order_id=returned.pk, actor=None, result="returning", source="callback"
    )
    failed = factories.intercepted(contract, result="failed")
    for order in (returned, failed):
        with pytest.raises(DomainError) as refused:
            services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
        assert refused.value.code == "return_not_failed"


def test_r23_one_open_claim_per_interception(cs):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    assert refused.value.code == "claim_exists"
    services.claim_withdraw(claim_id=claim.pk, actor=cs, reason="found the parcel")
    assert services.claim_file(actor=cs, interception_id=order.pk, kind="loss").pk != claim.pk


def test_r23_the_claim_kind_follows_what_the_carrier_reported(cs):
    order = returned_badly("damaged")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    assert refused.value.code == "kind_mismatch"


def test_r24_damage_needs_photos(cs):
    order = returned_badly("damaged")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="damage")
    assert refused.value.code == "photos_required"
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[png()])
    evidence = claim.evidence.get()
    assert evidence.content_type == "image/png" and evidence.original_name == "damage.png"
    assert "damage" not in evidence.file.name and evidence.file.name.endswith(".png")
    stored = settings.MEDIA_ROOT / "evidence" / evidence.file.name
    assert stored.exists() and "static" not in str(stored)


def test_r24_loss_needs_name_quantity_specification_and_value(cs):
    order = returned_badly("lost")
    with pytest.raises(DomainError) as refused:
        services.claim_file(
            actor=cs,
            interception_id=order.pk,
            kind="loss",
            goods=[{"name": "", "quantity": 0, "specification": "", "value": "abc"}],
        )
    assert {e["code"] for e in refused.value.errors} == {
        "name_required",
        "quantity_invalid",
        "specification_required",
        "value_invalid",
    }


def test_r26_amount_above_the_goods_value_or_the_cap_is_refused_with_the_reason(cs):
    order = returned_badly("lost", value="1500.00")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="loss", amount="1000.01")
    assert refused.value.code == "amount_over_cap" and "1000.00" in str(refused.value.message)
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")  # defaults to the cap
    assert claim.claimed_amount == Decimal("1000.00")
    small = returned_badly("lost", value="80.00")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=small.pk, kind="loss", amount="80.01")
    assert refused.value.code == "amount_over_value"
    with pytest.raises(DomainError) as refused:
        services.claim_propose(claim_id=claim.pk, actor=cs, amount="1200.00")
    assert refused.value.code == "amount_over_cap"


def test_r26_the_cap_is_the_platforms_setting(cs):
    from interception.models import Platform

    Platform.objects.filter(code="douyin").update(claim_cap=Decimal("50.00"))
    order = returned_badly("lost")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="loss", amount="60.00")
    assert refused.value.code == "amount_over_cap"


def test_r25_negotiation_outlet_proposes_merchant_accepts(cs):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    staff = factories.outlet_staff("yto_staff", order.outlet)
    services.claim_propose(claim_id=claim.pk, actor=staff, amount="90.00", note="按成本价赔")
    with pytest.raises(DomainError) as refused:
        services.claim_accept(claim_id=claim.pk, actor=staff)
    assert refused.value.code == "own_offer"
    services.claim_accept(claim_id=claim.pk, actor=cs)
    claim.refresh_from_db()
    assert claim.state == Claim.State.AGREED and claim.final_amount == Decimal("90.00")
    finance = factories.user("fin", roles.FINANCE)
    services.claim_pay(
        claim_id=claim.pk, actor=finance, payment_reference="ALIPAY-1", paid_at=SUCCEEDED + timedelta(days=9)
    )
    claim.refresh_from_db()
    assert claim.state == Claim.State.PAID
    assert [e.transition for e in timeline.entries_for(claim)] == ["file", "propose", "accept", "pay"]


def escalate_at(cs, claim, at):
    return services.claim_escalate(claim_id=claim.pk, actor=cs, reason="no agreement", now=at)


@pytest.mark.parametrize(
    "at,allowed",
    [
        (datetime(2026, 11, 7, 23, 59, tzinfo=SH), False),  # day 6 23:59
        (datetime(2026, 11, 8, 0, 0, tzinfo=SH), True),  # day 7
        (datetime(2026, 12, 1, 23, 59, tzinfo=SH), True),  # day 30
        (datetime(2026, 12, 2, 0, 0, tzinfo=SH), False),  # day 31
    ],
)
def test_r25_arbitration_only_from_day_7_to_day_30_in_shanghai_time(cs, at, allowed):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    staff = factories.outlet_staff("yto_staff", order.outlet)
    services.claim_propose(claim_id=claim.pk, actor=staff, amount="50.00")
    if allowed:
        assert escalate_at(cs, claim, at).state == Claim.State.ESCALATED
    else:
        with pytest.raises(DomainError) as refused:
            escalate_at(cs, claim, at)
        assert refused.value.code in ("arbitration_not_open", "arbitration_closed")


def test_r25_arbitration_outcomes_award_then_pay_or_dismiss(cs):
    finance = factories.user("fin", roles.FINANCE)
    staff = factories.outlet_staff("yto_staff", returned_badly("lost").outlet)
    outcomes = []
    for decide in ("award", "dismiss"):
        order = returned_badly("lost")
        claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
        services.claim_propose(claim_id=claim.pk, actor=cs, amount="100.00")
        escalate_at(cs, claim, SUCCEEDED + timedelta(days=10))
        if decide == "award":
            with pytest.raises(DomainError) as refused:
                services.claim_award(claim_id=claim.pk, actor=cs, amount="130.00")
            assert refused.value.code == "amount_over_value"
            services.claim_award(claim_id=claim.pk, actor=cs, amount="100.00")
            services.claim_pay(
                claim_id=claim.pk, actor=finance, payment_reference="B-9", paid_at=SUCCEEDED + timedelta(days=20)
            )
        else:
            services.claim_dismiss(claim_id=claim.pk, actor=cs, reason="平台判定证据不足")
        claim.refresh_from_db()
        outcomes.append(claim.state)
    assert outcomes == [Claim.State.PAID, Claim.State.DISMISSED]
    assert staff is not None


def test_outlet_staff_cannot_escalate_or_pay_and_cs_cannot_pay(cs):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    staff = factories.outlet_staff("yto_staff", order.outlet)
    services.claim_propose(claim_id=claim.pk, actor=staff, amount="50.00")
    with pytest.raises(DomainError) as refused:
        escalate_at(staff, claim, SUCCEEDED + timedelta(days=8))
    assert refused.value.code == "forbidden"
    services.claim_accept(claim_id=claim.pk, actor=cs)
    with pytest.raises(DomainError) as refused:
        services.claim_pay(claim_id=claim.pk, actor=cs, payment_reference="X", paid_at=SUCCEEDED)
    assert refused.value.code == "forbidden"


def test_claim_candidates_and_the_action_that_opens_loss_claims(cs):
    contract = factories.active_contract(carrier_code="yto", platform_code="douyin")
    old = factories.intercepted(contract, at=datetime.now(SH) - timedelta(days=8))
    factories.intercepted(contract, at=datetime.now(SH) - timedelta(days=6))  # not yet
    scanned = factories.intercepted(contract, at=datetime.now(SH) - timedelta(days=9))
    interception_services.interception_record_result(
        order_id=scanned.pk, actor=None, result="returning", source="callback"
    )
    assert [o.pk for o in services.claim_candidates(cs)] == [old.pk]
    ((interception_id, claim),) = services.candidates_open(actor=cs, interception_ids=[old.pk])
    assert claim.kind == "loss" and claim.interception_id == old.pk
    assert list(services.claim_candidates(cs)) == []


@pytest.mark.parametrize(
    "name,content,code",
    [
        ("shell.jpg", b"<?php system($_GET['c']); ?>", "not_an_image"),
        ("empty.jpg", b"", "file_empty"),
        ("huge.jpg", b"\xff\xd8\xff" + b"0" * (11 * 1024 * 1024), "file_too_large"),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"<?php ?>" * 10, "not_an_image"),
    ],
)
def test_uploads_are_judged_by_content(cs, name, content, code):
    order = returned_badly("damaged")
    with pytest.raises(DomainError) as refused:
        services.claim_file(
            actor=cs,
            interception_id=order.pk,
            kind="damage",
            photos=[SimpleUploadedFile(name, content, content_type="image/jpeg")],
        )
    assert code in {e["code"] for e in refused.value.errors}
    assert not Evidence.objects.exists() and not Claim.objects.exists()


def test_a_webp_and_a_jpeg_are_accepted(cs):
    order = returned_badly("damaged")
    photos = []
    for fmt in ("WEBP", "JPEG"):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), "blue").save(buffer, format=fmt)
        photos.append(SimpleUploadedFile(f"p.{fmt.lower()}", buffer.getvalue()))
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=photos)
    assert sorted(claim.evidence.values_list("content_type", flat=True)) == ["image/jpeg", "image/webp"]


def test_evidence_is_served_only_to_whoever_sees_the_claim(cs, client, two_outlets):
    order = returned_badly("damaged")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[png()])
    url = f"/admin/claims/claim/{claim.pk}/evidence/{claim.evidence.get().pk}/"
    client.force_login(cs)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(factories.outlet_staff("yto_staff", order.outlet))
    assert client.get(url).status_code == 200
    client.force_login(two_outlets["staff_b"])
    assert client.get(url).status_code == 404
    assert client.get(f"/admin/claims/claim/{claim.pk}/change/").status_code == 302
    assert client.get("/media/evidence/" + claim.evidence.get().file.name).status_code == 404


def test_outlet_staff_see_claims_against_their_outlets_and_can_propose_and_note(cs, client, two_outlets):
    order = returned_badly("lost")
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="loss")
    staff = factories.outlet_staff("yto_staff", order.outlet)
    client.force_login(staff)
    page = client.get(f"/admin/claims/claim/{claim.pk}/change/").content.decode()
    assert "do/propose/" in page and "do/accept/" in page and "do/note/" in page and "do/escalate/" not in page
    client.post(f"/admin/claims/claim/{claim.pk}/do/note/", {"note": "已联系分拨中心查件"})
    client.post(f"/admin/claims/claim/{claim.pk}/do/propose/", {"amount": "60.00", "note": ""})
    claim.refresh_from_db()
    assert claim.state == Claim.State.NEGOTIATING and claim.offer_side == "outlet"
    assert "已联系分拨中心查件" in [e.reason for e in timeline.entries_for(claim)]
    client = Client()  # a fresh browser: no messages left from the other user
    client.force_login(two_outlets["staff_b"])
    assert claim.tracking_number not in client.get("/admin/claims/claim/").content.decode()
    assert client.post(f"/admin/claims/claim/{claim.pk}/do/accept/").status_code == 404


def test_file_page_and_candidates_page_for_customer_service(cs, client):
    order = returned_badly("lost")
    client.force_login(cs)
    page = client.get(f"/admin/claims/claim/file/?tracking_number={order.tracking_number}").content.decode()
    assert "羊毛围巾" in page
    form = {
        "tracking_number": order.tracking_number,
        "kind": "loss",
        "amount": "",
        "description": "",
        "goods-TOTAL_FORMS": "1",
        "goods-INITIAL_FORMS": "0",
        "goods-MIN_NUM_FORMS": "0",
        "goods-MAX_NUM_FORMS": "30",
        "goods-0-name": "羊毛围巾",
        "goods-0-quantity": "1",
        "goods-0-specification": "灰色",
        "goods-0-value": "120.00",
    }
    response = client.post("/admin/claims/claim/file/", form)
    claim = Claim.objects.get()
    assert response.status_code == 302 and claim.claimed_amount == Decimal("120.00")
    assert client.get("/admin/claims/claim/candidates/").status_code == 200


def test_api_lists_scoped_claims_and_files_one(api, cs):
    order = returned_badly("lost")
    merchant_client = factories.api_client_for(merchant=order.merchant)
    response = api(merchant_client).post(
        "/api/v1/claims/", {"tracking_number": order.tracking_number, "kind": "loss", "amount": "99.00"}, format="json"
    )
    assert response.status_code == 201 and response.json()["claimed_amount"] == "99.00"
    assert [c["id"] for c in api(merchant_client).get("/api/v1/claims/").json()["results"]] == [response.json()["id"]]
    other = factories.api_client_for(merchant=factories.MerchantFactory())
    assert api(other).get("/api/v1/claims/").json()["results"] == []
    refused = api(merchant_client).post("/api/v1/claims/", {"interception": order.pk, "kind": "loss"}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "claim_exists"


def test_api_damage_claim_with_photos_by_multipart(api):
    order = returned_badly("damaged")
    merchant_client = factories.api_client_for(merchant=order.merchant)
    response = api(merchant_client).post(
        "/api/v1/claims/", {"interception": order.pk, "kind": "damage", "photos": [png()]}, format="multipart"
    )
    assert response.status_code == 201 and response.json()["photos"] == 1


class Counting:
    """An upload that counts what is read from it: every byte, and the biggest single read."""

    def read(self, *args):
        data = super().read(*args)
        self.bytes_read = getattr(self, "bytes_read", 0) + len(data)
        self.biggest_read = max(getattr(self, "biggest_read", 0), len(data))
        return data


class CountingMemoryUpload(Counting, SimpleUploadedFile):
    pass


class CountingTemporaryUpload(Counting, TemporaryUploadedFile):
    """What Django makes of an upload above FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): a temporary file."""

    def __init__(self, name, content):
        super().__init__(name, "image/png", len(content), None)
        self.file.write(content)
        self.file.flush()
        self.file.seek(0)


def noise_png(megabytes):
    side = int((megabytes * 1e6 / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), random.randbytes(side * side * 3)).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def png_claiming(width, height):
    """A valid 1x1 PNG whose header claims width x height: what a decompression bomb looks like to Pillow."""
    data = bytearray(png().read())
    header = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def test_oversize_photo_is_refused_before_it_is_read(cs):
    order = returned_badly("damaged")
    photo = CountingMemoryUpload("huge.jpg", b"\xff\xd8\xff" + b"0" * (11 * 1024 * 1024), content_type="image/jpeg")
    with pytest.raises(DomainError) as refused:
        services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[photo])
    assert refused.value.errors[0]["code"] == "file_too_large"
    assert getattr(photo, "bytes_read", 0) == 0
    assert not Claim.objects.exists()


def test_a_photo_is_checked_and_stored_without_being_read_whole(cs):
    order = returned_badly("damaged")
    content = noise_png(3)  # above 2.5 MB: Django keeps it in a temporary file
    photo = CountingTemporaryUpload("damage.png", content)
    claim = services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[photo])
    photo.close()  # as Django does at the end of the request (the file was moved into the storage)
    evidence = claim.evidence.get()
    assert photo.biggest_read <= 1024 * 1024 < len(content)
    assert (evidence.content_type, evidence.size) == ("image/png", len(content))
    with evidence.file.open("rb") as stored:
        assert stored.read() == content


@pytest.mark.parametrize("width, height", [(10_000, 10_000), (20_000, 20_000)])  # Pillow warns, Pillow refuses
def test_a_decompression_bomb_photo_is_refused_as_not_an_image(cs, width, height):
    order = returned_badly("damaged")
    bomb = SimpleUploadedFile("bomb.png", png_claiming(width, height), content_type="image/png")
    with (
        pytest.warns(Image.DecompressionBombWarning)
        if width * height < 2 * Image.MAX_IMAGE_PIXELS
        else contextlib.nullcontext(),
        pytest.raises(DomainError) as refused,
    ):
        services.claim_file(actor=cs, interception_id=order.pk, kind="damage", photos=[bomb])
    assert refused.value.errors[0]["code"] == "not_an_image"
    assert not Evidence.objects.exists()


def test_api_refuses_an_oversize_photo_with_400_and_the_field(api):
    order = returned_badly("damaged")
    merchant_client = factories.api_client_for(merchant=order.merchant)
    huge = SimpleUploadedFile("huge.png", b"\x89PNG\r\n\x1a\n" + b"0" * (11 * 1024 * 1024), content_type="image/png")
    response = api(merchant_client).post(
        "/api/v1/claims/", {"interception": order.pk, "kind": "damage", "photos": [png(), huge]}, format="multipart"
    )
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("file_too_large", "photos")]
    assert not Claim.objects.exists()
