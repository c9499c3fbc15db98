"""Claims in the admin: filing, candidates, negotiation, arbitration, payment, evidence (R23-R26)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from claims import rules, selectors, services
from claims.models import Claim, ClaimGoodsLine
from interception import selectors as interception_selectors
from interception.admin.search import by_merchant
from kernel import inputs
from kernel.admin_actions import (
    ObjectAction,
    ObjectActionsMixin,
    RequiredReasonForm,
    can_transition,
)
from kernel.admin_base import (
    OutletFilter,
    PortalAdmin,
    ReadOnlyInline,
    ReadOnlyMixin,
    SearchMixin,
    TimelineMixin,
    by_exact,
    countdown,
)
from kernel.errors import DomainError


class AmountForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=12, decimal_places=2)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))


class OptionalNoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PayForm(forms.Form):
    payment_reference = forms.CharField(label=_("Payment reference"), max_length=100)
    paid_at = forms.DateTimeField(label=_("Paid at"), help_text=_("YYYY-MM-DD HH:MM, Asia/Shanghai"))


def _run(service):
    def run(obj, actor, **data):
        return service(claim_id=obj.pk, actor=actor, **data)

    return run


def _can_accept(obj, user):
    return can_transition("accept")(obj, user) and obj.offer_side != services.side_of(user)


def _can_note(obj, user):
    return True  # whoever sees the claim may write on its timeline


class GoodsInline(ReadOnlyInline):
    model = ClaimGoodsLine
    fields = ["name", "quantity", "specification", "value"]


@admin.register(Claim)
class ClaimAdmin(SearchMixin, ObjectActionsMixin, TimelineMixin, ReadOnlyMixin, PortalAdmin):
    selector = selectors.claim_list
    list_display = [
        "id",
        "tracking_number",
        "kind",
        "state",
        "merchant",
        "outlet",
        "claimed_amount",
        "offer",
        "final_amount",
        "arbitration",
        "filed_at",
    ]
    list_filter = ["state", "kind", "carrier", OutletFilter]
    list_select_related = ["merchant", "outlet", "carrier", "platform"]
    search_by = [by_exact("tracking_number"), by_merchant()]
    search_help_text = _("Tracking number, exact, or merchant code or name.")
    inlines = [GoodsInline]
    timeline_state_labels = dict(Claim.State.choices)
    readonly_fields = [
        "tracking_number",
        "interception",
        "kind",
        "state",
        "merchant",
        "outlet",
        "carrier",
        "platform",
        "description",
        "goods_value",
        "claimed_amount",
        "offer",
        "final_amount",
        "succeeded_at",
        "arbitration",
        "filed_by",
        "filed_at",
        "escalated_at",
        "decided_at",
        "closing_reason",
        "payment_reference",
        "paid_at",
        "photos",
    ]
    fields = readonly_fields + ["timeline"]
    object_actions = [
        ObjectAction(
            "propose",
            _("Propose an amount"),
            run=_run(services.claim_propose),
            form_class=AmountForm,
            available=can_transition("propose"),
            bulk=False,
        ),
        ObjectAction(
            "accept",
            _("Accept the amount on the table"),
            run=_run(services.claim_accept),
            form_class=OptionalNoteForm,
            available=_can_accept,
            bulk=False,
        ),
        ObjectAction(
            "escalate",
            _("Escalate to platform arbitration"),
            run=_run(services.claim_escalate),
            form_class=RequiredReasonForm,
            available=can_transition("escalate"),
            bulk=False,
        ),
        ObjectAction(
            "award",
            _("Record the award"),
            run=_run(services.claim_award),
            form_class=AmountForm,
            available=can_transition("award"),
            bulk=False,
        ),
        ObjectAction(
            "dismiss",
            _("Record a dismissal"),
            run=_run(services.claim_dismiss),
            form_class=RequiredReasonForm,
            available=can_transition("dismiss"),
            bulk=False,
        ),
        ObjectAction(
            "pay",
            _("Record payment"),
            run=_run(services.claim_pay),
            form_class=PayForm,
            available=can_transition("pay"),
            bulk=False,
        ),
        ObjectAction(
            "withdraw",
            _("Withdraw"),
            run=_run(services.claim_withdraw),
            form_class=RequiredReasonForm,
            available=can_transition("withdraw"),
            danger=True,
            bulk=False,
        ),
        ObjectAction(
            "note", _("Add a note"), run=_run(services.claim_note), form_class=NoteForm, available=_can_note, bulk=False
        ),
    ]

    @admin.display(description=_("on the table"))
    def offer(self, obj):
        return f"{obj.offer_amount} ({obj.get_offer_side_display()})"

    @admin.display(description=_("arbitration window"))
    def arbitration(self, obj):
        if not obj.negotiable:
            return "—"
        opens, closes = rules.arbitration_window(obj.succeeded_at, obj.platform)
        now = timezone.now()
        if now < opens:
            return _("opens %(d)s") % {"d": f"{timezone.localtime(opens):%Y-%m-%d}"}
        return countdown(closes, now) if now < closes else _("closed")

    @admin.display(description=_("photos"))
    def photos(self, obj):
        items = [
            (reverse("admin:claims_claim_evidence", args=[obj.pk, e.pk]), e.original_name or e.file.name)
            for e in obj.evidence.order_by("id")
        ]
        return format_html_join(format_html("<br>"), '<a href="{}" target="_blank">{}</a>', items) if items else "—"

    def object_links(self, request, obj):
        if request.user.has_perm("claims.add_claim") and obj.is_open:
            return [(_("Add a photo"), reverse("admin:claims_claim_add_photo", args=[obj.pk]))]
        return []

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("file/", view(self.file_view), name="claims_claim_file"),
            path("candidates/", view(self.candidates_view), name="claims_claim_candidates"),
            path("<int:object_id>/evidence/<int:evidence_id>/", view(self.evidence_view), name="claims_claim_evidence"),
            path("<int:object_id>/photo/", view(self.add_photo_view), name="claims_claim_add_photo"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_file"] = request.user.has_perm("claims.add_claim")
        return super().changelist_view(request, extra_context)

    def evidence_view(self, request, object_id, evidence_id):
        """Evidence is served only here, to whoever may see the claim; anyone else gets 404."""
        evidence = selectors.evidence_list(request.user).filter(pk=evidence_id, claim_id=object_id).first()
        if evidence is None or not self.has_view_permission(request):
            raise Http404
        response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    def add_photo_view(self, request, object_id):
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        if not request.user.has_perm("claims.add_claim"):
            raise PermissionDenied
        form = PhotoForm(request.POST or None, request.FILES or None)
        refused = None
        if request.method == "POST" and form.is_valid():
            try:
                services.evidence_add(claim_id=obj.pk, actor=request.user, photo=form.cleaned_data["photo"])
            except DomainError as exc:
                refused = exc
            else:
                messages.success(request, _("The photo was added."))
                return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[obj.pk]))
        return self.render_page(
            request,
            "admin/portal/form_page.html",
            title=_("Add a photo: %(c)s") % {"c": obj},
            form=form,
            original=obj,
            refused=refused,
            multipart=True,
            submit_label=_("Upload"),
            change_url=reverse("admin:claims_claim_change", args=[obj.pk]),
            intro=_("JPEG, PNG or WebP, at most 10 MB."),
        )

    def file_view(self, request):
        if not request.user.has_perm("claims.add_claim"):
            raise PermissionDenied
        tracking = (request.GET.get("tracking_number") or request.POST.get("tracking_number") or "").strip().upper()
        order = (
            (
                interception_selectors.interception_list(request.user)
                .select_related("parcel", "platform")
                .filter(tracking_number=tracking)
                .order_by("-id")
                .first()
            )
            if tracking
            else None
        )
        initial_goods = services.goods_from_parcel(order) if order else []
        # From the interception page of a failed return: its number and what happened (lost or damaged).
        initial = {"tracking_number": tracking, "kind": request.GET.get("kind", "")}
        form = FileClaimForm(request.POST or None, request.FILES or None, initial=initial)
        goods = GoodsFormSet(request.POST or None, prefix="goods", initial=initial_goods)
        refused = None
        if request.method == "POST" and order is None:
            refused = DomainError(
                "not_found", _("No interception of yours with tracking number %(t)s.") % {"t": tracking or "—"}
            )
        elif request.method == "POST" and form.is_valid() and goods.is_valid():
            data = form.cleaned_data
            lines = [g.cleaned_data for g in goods if g.cleaned_data and g.cleaned_data.get("name")]
            try:
                claim = services.claim_file(
                    actor=request.user,
                    interception_id=order.pk,
                    kind=data["kind"],
                    amount=data["amount"],
                    description=data["description"],
                    goods=lines,
                    photos=data["photos"],
                )
            except DomainError as exc:
                refused = exc
            else:
                messages.success(request, _("%(c)s filed.") % {"c": claim})
                return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[claim.pk]))
        return self.render_page(
            request,
            "admin/claims/claim/file.html",
            title=_("File a claim"),
            form=form,
            goods=goods,
            order=order,
            refused=refused,
            cap=order.platform.claim_cap if order else None,
        )

    def candidates_view(self, request):
        if not request.user.has_perm("claims.add_claim"):
            raise PermissionDenied
        outcomes = None
        if request.method == "POST":
            ids = [i for i in request.POST.getlist("interception") if inputs.is_id(i)]
            outcomes = services.candidates_open(actor=request.user, interception_ids=ids)
        candidates = list(services.claim_candidates(request.user).select_related("outlet", "merchant")[:200])
        return self.render_page(
            request,
            "admin/claims/claim/candidates.html",
            title=_("Claim candidates: succeeded, no return scan"),
            candidates=candidates,
            outcomes=outcomes,
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class FileClaimForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=Claim.Kind.choices)
    amount = forms.DecimalField(
        label=_("Amount claimed (yuan)"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Empty: the goods' value, at most the cap."),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleFileField(
        label=_("Photos (damage)"), required=False, help_text=_("JPEG, PNG or WebP, at most 10 MB each.")
    )


class GoodsForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1)
    specification = forms.CharField(label=_("Specification"), required=False, max_length=200)
    value = forms.DecimalField(label=_("Value (yuan)"), required=False, max_digits=12, decimal_places=2)


GoodsFormSet = forms.formset_factory(GoodsForm, extra=2, max_num=30)


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo"))
