"""Pure checks of claims (R23-R26): who may claim, what evidence, which amounts, when arbitration is open."""

import struct
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from interception.models import InterceptionOrder
from kernel import inputs
from kernel.errors import Problem
from kernel.money import parse_amount

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
GOODS_TEXT_LENGTH = 200  # ClaimGoodsLine.name and .specification
IMAGE_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}


def is_candidate(order, platform, now):
    """Succeeded, and still no return scan N days later (platform setting): probably lost on the way back."""
    return (
        order.state == InterceptionOrder.State.SUCCEEDED
        and order.return_scan_at is None
        and order.result_at is not None
        and order.result_at <= now - timedelta(days=platform.claim_candidate_days)
    )


def claimable_problems(order, kind, platform, now, *, has_open_claim):
    """R23: the interception succeeded and its return failed (lost or damaged); a candidate may claim a loss."""
    problems = []
    if has_open_claim:
        problems.append(Problem("claim_exists", _("This interception has an open claim already.")))
    if order.state == InterceptionOrder.State.RETURN_FAILED:
        if {"lost": "loss", "damaged": "damage"}.get(order.return_loss) != kind:
            problems.append(
                Problem(
                    "kind_mismatch",
                    _("The carrier reported the parcel %(l)s: claim %(k)s.")
                    % {
                        "l": order.get_return_loss_display(),
                        "k": {"lost": _("a loss"), "damaged": _("a damage")}.get(order.return_loss, ""),
                    },
                    "kind",
                )
            )
    elif not (kind == "loss" and is_candidate(order, platform, now)):
        problems.append(
            Problem(
                "return_not_failed",
                _("A claim needs an interception that succeeded and whose return failed (lost or damaged)."),
            )
        )
    return problems


def evidence_problems(kind, goods, photos):
    """R24: damage needs photos; loss needs each lost item's name, quantity, specification and value.

    Goods lines given with a damage claim are stored alike, so they are checked alike.
    """
    problems = []
    if kind == "damage" and not photos:
        problems.append(Problem("photos_required", _("A damage claim needs photos of the damage."), "photos"))
    if kind == "loss" and not goods:
        problems.append(Problem("goods_required", _("A loss claim lists the goods lost."), "goods"))
    if not isinstance(goods, (list, tuple)):
        return problems + [Problem("goods_invalid", _("The goods are a list of lines."), "goods")]
    for n, line in enumerate(goods):
        field = f"goods[{n}]"
        if not isinstance(line, dict):
            problems.append(
                Problem(
                    "goods_invalid",
                    _("Goods line %(n)s is not a line with name, quantity, specification and value.") % {"n": n + 1},
                    field,
                )
            )
            continue
        for name in ("name", "specification"):
            if not str(line.get(name) or "").strip():
                problems.append(
                    Problem(
                        f"{name}_required",
                        _("Goods line %(n)s: the %(f)s is required.") % {"n": n + 1, "f": name},
                        f"{field}.{name}",
                    )
                )
            else:
                problems += inputs.text_problems(
                    str(line[name]).strip(), f"{field}.{name}", max_length=GOODS_TEXT_LENGTH
                )
        quantity = line.get("quantity")
        if not inputs.is_id(quantity) or int(quantity) < 1:
            problems.append(
                Problem(
                    "quantity_invalid",
                    _("Goods line %(n)s: the quantity is a whole number of at least 1.") % {"n": n + 1},
                    f"{field}.quantity",
                )
            )
        value = parse_amount(line.get("value"))
        if value is None or value <= 0:
            problems.append(
                Problem(
                    "value_invalid",
                    _("Goods line %(n)s: the value is an amount above 0.") % {"n": n + 1},
                    f"{field}.value",
                )
            )
    return problems


def amount_problems(amount, *, goods_value, cap, field="amount"):
    """R26: compensation is at most the goods' value and at most the platform's cap (1000 yuan on Douyin)."""
    value = parse_amount(amount)
    if value is None or value <= 0:
        return [Problem("amount_invalid", _("The amount must be an amount of yuan above 0."), field)]
    problems = []
    if value > goods_value:
        problems.append(
            Problem(
                "amount_over_value",
                _("%(a)s is more than the goods' value %(v)s.") % {"a": value, "v": goods_value},
                field,
            )
        )
    if value > cap:
        problems.append(
            Problem(
                "amount_over_cap",
                _("%(a)s is more than the cap of %(c)s per claim.") % {"a": value, "c": cap},
                field,
            )
        )
    return problems


def arbitration_window(succeeded_at, platform):
    """R25: from day 7 to day 30 after the success (platform settings), whole Asia/Shanghai days: [opens, closes)."""
    day = timezone.localtime(succeeded_at).date()
    tz = timezone.get_default_timezone()
    opens = datetime.combine(day + timedelta(days=platform.claim_window_start_days), time.min, tzinfo=tz)
    closes = datetime.combine(day + timedelta(days=platform.claim_window_end_days + 1), time.min, tzinfo=tz)
    return opens, closes


def escalation_problems(succeeded_at, platform, now):
    opens, closes = arbitration_window(succeeded_at, platform)
    if now < opens:
        return [
            Problem(
                "arbitration_not_open",
                _("Platform arbitration opens on %(d)s, %(n)s days after the interception succeeded.")
                % {"d": f"{opens:%Y-%m-%d}", "n": platform.claim_window_start_days},
            )
        ]
    if now >= closes:
        return [
            Problem(
                "arbitration_closed",
                _("Platform arbitration closed on %(d)s, %(n)s days after the interception succeeded.")
                % {"d": f"{closes - timedelta(days=1):%Y-%m-%d}", "n": platform.claim_window_end_days},
            )
        ]
    return []


def image_problems(photo):
    """(detected format, problems) of an uploaded photo: only real JPEG, PNG or WebP images up to 10 MB, judged by
    their content.

    The size is the one the upload declares, checked before anything is read; the image is then read from its
    file object (Django keeps an upload above 2.5 MB in a temporary file), never whole into memory. An image of
    more pixels than Pillow's decompression-bomb limit (about 89 million) is refused as no image.
    """
    size = getattr(photo, "size", None)
    if not size:
        return None, [Problem("file_empty", _("The file is empty."), "photos")]
    if size > MAX_EVIDENCE_BYTES:
        return None, [Problem("file_too_large", _("A photo may be at most 10 MB."), "photos")]
    not_an_image = [Problem("not_an_image", _("The file is not a JPEG, PNG or WebP image."), "photos")]
    photo.seek(0)
    try:
        with Image.open(photo) as image:  # reads the header only; above twice the limit it raises
            detected = image.format
            # Between the limit and twice it Pillow only warns: refused here too, without touching the
            # process-wide warning filters.
            if Image.MAX_IMAGE_PIXELS and image.width * image.height > Image.MAX_IMAGE_PIXELS:
                return None, not_an_image
            image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        struct.error,
        Image.DecompressionBombError,
    ):
        return None, not_an_image
    finally:
        photo.seek(0)
    if detected not in IMAGE_TYPES:
        return None, not_an_image
    return detected, []
