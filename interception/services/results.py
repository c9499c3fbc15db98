"""Interception results, whoever brings them: a carrier callback, a query, staff by phone (R13, R14)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception import rules, selectors, signals
from interception.models import (
    AfterSale,
    CarrierResult,
    InterceptionOrder,
)
from kernel import inputs
from kernel.errors import DomainError, refuse
from kernel.permissions import actor_may
from kernel.transitions import lock, not_found, require, take

REFUNDED_ON_SUCCESS = _("interception succeeded: refunded automatically")  # R14


RESULT_TRANSITIONS = {
    CarrierResult.SUCCEEDED: "succeed",
    CarrierResult.FAILED: "fail",
    CarrierResult.RETURNING: "start_return",
    CarrierResult.RETURNED: "return_done",
    CarrierResult.LOST: "return_fail",
    CarrierResult.DAMAGED: "return_fail",
}


def result_recordable(order, user):
    """For the admin: may `user` record a result on `order` now? (the machine decides; this only shows the button)"""
    return actor_may(user, "interception.record_result") and any(
        can_proceed(getattr(order, name)) for name in set(RESULT_TRANSITIONS.values())
    )


@transaction.atomic
def interception_record_result(
    *,
    order_id,
    actor,
    result,
    at=None,
    reason_code="",
    reason_text="",
    note="",
    source=InterceptionOrder.Source.MANUAL,
    scoped=True,
):
    """Apply a carrier's result, whoever brings it: callback, query or staff by phone (R13, R14)."""
    require(actor, "interception.record_result")
    if result not in RESULT_TRANSITIONS:
        raise DomainError("result_invalid", _("Unknown result %(r)s.") % {"r": result}, status=400)
    if result == CarrierResult.FAILED and not (reason_code or reason_text):
        raise DomainError("reason_required", _("A failed interception needs the carrier's reason."), status=400)
    column = InterceptionOrder._meta.get_field
    if problems := (
        inputs.text_problems(reason_code, "reason_code", column=column("failure_code"))
        + inputs.text_problems(reason_text, "reason_text", column=column("failure_text"))
        + inputs.text_problems(note, "note")
    ):
        refuse(problems, status=400)
    if source == InterceptionOrder.Source.MANUAL and not (note or "").strip():
        raise DomainError(
            "note_required", _("Say how the result was confirmed (e.g. phone call with whom)."), status=400
        )
    orders = selectors.interception_list(actor if scoped else None)
    after_sale_id = orders.filter(pk=order_id).values_list("after_sale_id", flat=True).first()
    if after_sale_id is None:
        raise not_found(_("Interception"), order_id)
    after_sale = AfterSale.objects.select_for_update(of=("self",)).select_related("platform").get(pk=after_sale_id)
    order = lock(orders, order_id, what=_("Interception"))
    # The result keeps the carrier's time as reported (result_at and the carrier event); the timeline says when
    # we learned it, so a carrier clock that runs behind ours never puts a result before its request.
    recorded_at = timezone.now()
    at = at or recorded_at
    kwargs = {"source": source, "note": note}
    if result == CarrierResult.FAILED:
        kwargs.update(reason_code=reason_code or "unspecified", reason_text=reason_text or reason_code)
    if result in (CarrierResult.LOST, CarrierResult.DAMAGED):
        kwargs["loss"] = result
    # The timeline shows the carrier's words; its code (kept on the order, in the API) only when it gave none.
    reason = note or ((reason_text or reason_code) if result == CarrierResult.FAILED else "")
    take(order, RESULT_TRANSITIONS[result], actor=actor, at=at, recorded_at=recorded_at, reason=reason, **kwargs)
    signals.result_recorded.send(InterceptionOrder, order=order, result=result)
    if (
        result == CarrierResult.SUCCEEDED
        and can_proceed(after_sale.refund)
        and rules.refund_due_on_success(list(after_sale.interceptions.values_list("state", flat=True)))
    ):
        take(after_sale, "refund", actor=None, reason=REFUNDED_ON_SUCCESS)
    return order


def interception_confirm_return(*, order_id, actor, damaged=False, note=""):
    """Customer service confirms that the returned parcel arrived (退件签收, the return leg closes) or that it
    arrived damaged (a damage claim can then be filed, R23): a result like the carrier's, confirmed on receipt."""
    if damaged and not (note or "").strip():
        raise DomainError("note_required", _("Describe the damage the returned parcel arrived with."), status=400)
    return interception_record_result(
        order_id=order_id,
        actor=actor,
        result=CarrierResult.DAMAGED if damaged else CarrierResult.RETURNED,
        note=note or "",
        source=InterceptionOrder.Source.RECEIPT,
    )


def return_confirmable(order, user):
    """For the admin: is the return leg open and may `user` close it? (the machine decides; this only shows the
    buttons)"""
    return actor_may(user, "interception.record_result") and can_proceed(order.return_done)
