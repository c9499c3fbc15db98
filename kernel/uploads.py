"""Uploaded files kept between a preview and its confirmation (StagedUpload).

The confirm step names the file by a random token instead of posting it back: the user cannot alter what was
previewed, a file of any size up to the upload limit can be confirmed (a form field may carry only 2.5 MB),
and whichever app host answers finds it in the database.
"""

import secrets
import tempfile
from datetime import timedelta

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.errors import DomainError
from kernel.models import StagedUpload, StagedUploadPart

KEPT_FOR = timedelta(hours=1)


def stage(*, user, purpose, uploaded):
    """Keep `uploaded` (already checked: at most the upload limit) for `user`; returns the token naming it."""
    now = timezone.now()
    StagedUpload.objects.filter(expires_at__lte=now).delete()
    uploaded.seek(0)
    with transaction.atomic():
        staged = StagedUpload.objects.create(
            token=secrets.token_urlsafe(32),
            user=user,
            purpose=purpose,
            size=0,
            created_at=now,
            expires_at=now + KEPT_FOR,
            name=str(getattr(uploaded, "name", "") or ""),
        )
        number, size = 0, 0
        while part := uploaded.read(StagedUpload.PART_BYTES):
            StagedUploadPart.objects.create(upload=staged, number=number, content=part)
            number, size = number + 1, size + len(part)
        StagedUpload.objects.filter(pk=staged.pk).update(size=size)
    return staged.token


def take(*, user, purpose, token):
    """The staged file as a file object with its name, deleted when the caller's transaction commits.

    Locked until then, so a confirmation sent twice applies once. Another user's token, a forged one and one
    already applied are refused alike (`upload_unknown`), without saying which; the user's own expired one as
    `upload_expired` (the next upload deletes it). The parts are copied one by one into a temporary file.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take() deletes the file with the transaction that applies it: call it inside one")
    staged = StagedUpload.objects.select_for_update().filter(token=str(token or ""), user=user, purpose=purpose).first()
    if staged is None:
        raise DomainError(
            "upload_unknown",
            _(
                "Nothing was applied: this preview does not exist (it was applied "
                "already, or is not yours). Upload the file again."
            ),
            status=400,
        )
    if staged.expires_at <= timezone.now():
        raise DomainError(
            "upload_expired",
            _("Nothing was applied: this preview expired (previews are kept for one hour). Upload the file again."),
            status=400,
        )
    content = File(tempfile.TemporaryFile(), name=staged.name)
    for pk in staged.parts.order_by("number").values_list("pk", flat=True):
        content.write(StagedUploadPart.objects.filter(pk=pk).values_list("content", flat=True).get())
    content.size = content.tell()
    content.seek(0)
    staged.delete()
    return content
