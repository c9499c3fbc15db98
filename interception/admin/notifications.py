"""Admin for notification channels, the messages sent and merchants' webhooks (the notifications app).

Here rather than in notifications/ because outlet staff manage their own outlets' channels: the scoping
is interception's (selectors), which the notifications app, below interception, may not import.
A channel's webhook address and secret are write-only: the fields are always empty on the page, leaving
them empty keeps what is set, and what would be saved is checked (kind.problems) before anything is.
"""

from django import forms
from django.contrib import admin
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from interception import selectors
from interception.models import ApiClient
from kernel.admin_actions import ObjectAction, ObjectActionsMixin
from kernel.admin_base import PortalAdmin, ReadOnlyInline, ReadOnlyMixin
from notifications import services as notify
from notifications.models import (
    Audience,
    Channel,
    Notification,
    Send,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.outbox import WEBHOOK_EVENTS

SECRET_SHOWN_ONCE = "admin/notifications/secret_shown_once.html"  # noqa: S105 - a template name


def _write_only(label, help_text):
    return forms.CharField(
        label=label,
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "size": 80}),
        help_text=help_text,
    )


class ChannelForm(forms.ModelForm):
    url = _write_only(_("webhook address"), _("The robot's address, with its key or token."))
    secret = _write_only(_("signing secret"), _("DingTalk and Feishu robots with signing on: the secret (SEC…)."))

    class Meta:
        model = Channel
        fields = ["name", "kind", "audience", "outlet", "recipients", "active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        scope = selectors.scope_for(user)
        self.fields["outlet"].queryset = selectors.outlet_list(user)
        if scope.outlet_staff:  # their own outlets' channels only, never a team's
            self.fields["audience"].choices = [(Audience.OUTLET, Audience.OUTLET.label)]
            self.fields["outlet"].required = True
        have = self.instance.credentials if self.instance.pk else {}
        when = (
            formats.date_format(timezone.localtime(self.instance.credentials_set_at), "SHORT_DATETIME_FORMAT")
            if self.instance.credentials_set_at
            else ""
        )
        for name in ("url", "secret"):
            if have.get(name):
                self.fields[name].help_text = _("Set on %(d)s; leave empty to keep it.") % {"d": when}

    def clean(self):
        cleaned = super().clean()
        kind, audience, outlet = cleaned.get("kind"), cleaned.get("audience"), cleaned.get("outlet")
        if audience == Audience.OUTLET and outlet is None:
            self.add_error("outlet", _("Choose the outlet this channel speaks to."))
        if audience and audience != Audience.OUTLET and outlet is not None:
            self.add_error("outlet", _("A team's channel belongs to no outlet: leave the outlet empty."))
        if kind:
            have = self.instance.credentials if self.instance.pk else {}
            typed = {k: cleaned.get(k) for k in ("url", "secret") if cleaned.get(k)}
            self.credentials = {**have, **typed} if kind != "email" else {}
            for problem in notify.channel_problems(
                kind=kind, credentials=self.credentials, recipients=cleaned.get("recipients", "")
            ):
                self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return cleaned

    def save(self, commit=True):
        self.instance.sealed_credentials = ""
        self.instance.set_credentials(self.credentials)
        return super().save(commit)


@admin.register(Channel)
class ChannelAdmin(ObjectActionsMixin, PortalAdmin):
    selector = selectors.notification_channel_list
    form = ChannelForm
    list_display = ["name", "kind", "audience", "outlet", "active", "credentials_set_at", "next_send_at"]
    list_filter = ["kind", "audience", "active"]
    search_fields = ["name", "outlet__code", "outlet__name"]
    list_select_related = ["outlet"]
    autocomplete_fields = ["outlet"]
    readonly_fields = ["credentials_set_at", "next_send_at", "created_at"]
    object_actions = [
        ObjectAction(
            "test",
            _("Send a test message"),
            run=lambda channel, actor: notify.channel_test(channel=channel, actor=actor),
            available=lambda channel, user: user.has_perm("notifications.change_channel"),
            bulk=False,
            note=_("A short message goes to the channel now; its answer is shown and kept in the delivery log."),
        )
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class Bound(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return Bound

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["name", "kind", "audience", "outlet", "active"]}),
            (_("Group robot"), {"fields": ["url", "secret"]}),
            (_("E-mail"), {"fields": ["recipients"]}),
            (None, {"fields": ["credentials_set_at", "next_send_at", "created_at"]}),
        ]


@admin.register(Notification)
class NotificationAdmin(ObjectActionsMixin, ReadOnlyMixin, PortalAdmin):
    """The messages the portal sent or will send: the demo's "page of sent notifications"."""

    selector = selectors.notification_list
    list_display = ["created_at", "channel", "title", "line", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state", "channel__kind", "channel__audience", "event"]
    list_select_related = ["channel"]
    search_fields = ["line", "title"]
    fields = ["channel", "event", "title", "line", "link", "state", "attempts", "next_attempt_at", "created_at"]
    readonly_fields = fields + ["sent_at", "last_error"]
    object_actions = [
        ObjectAction(
            "resend",
            _("Send again"),
            run=lambda n, actor: notify.notification_resend(notification_id=n.pk, actor=actor),
            available=lambda n, user: (
                n.state != Notification.State.PENDING and user.has_perm("notifications.change_notification")
            ),
        )
    ]


@admin.register(Send)
class SendAdmin(ReadOnlyMixin, PortalAdmin):
    selector = staticmethod(lambda user: Send.objects.select_related("channel"))
    list_display = ["at", "channel", "outcome", "http_status", "answer"]
    list_filter = ["outcome", "channel__kind"]
    list_select_related = ["channel"]
    fields = ["channel", "at", "outcome", "http_status", "answer", "text"]
    readonly_fields = fields


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("address"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=[(e, e) for e in WEBHOOK_EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["client", "url", "events", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = ApiClient.objects.filter(merchant__isnull=False)

    def clean_url(self):
        url = self.cleaned_data["url"]
        for problem in notify.webhook_url_problems(url):
            raise forms.ValidationError(problem.message, code=problem.code)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ObjectActionsMixin, PortalAdmin):
    """Supervisors register a merchant's webhook here too; the signing secret is shown once, when issued."""

    selector = staticmethod(lambda user: WebhookEndpoint.objects.select_related("client"))
    form = WebhookForm
    list_display = ["url", "client", "active", "created_at"]
    list_select_related = ["client"]
    search_fields = ["url", "client__name"]
    autocomplete_fields = ["client"]
    object_actions = [
        ObjectAction(
            "new-secret",
            _("Issue a new signing secret"),
            run=lambda endpoint, actor: notify.webhook_secret_rotate(endpoint=endpoint, actor=actor),
            available=lambda endpoint, user: user.has_perm("notifications.change_webhookendpoint"),
            bulk=False,
            danger=True,
            result_template=SECRET_SHOWN_ONCE,
            note=_("The new secret signs every delivery from now on; the merchant must switch to it."),
        )
    ]

    def save_model(self, request, obj, form, change):
        if not change and not obj.sealed_credentials:
            # A secret from the start; the supervisor shows it to the merchant with "Issue a new signing secret".
            obj.set_credentials({"secret": notify.new_webhook_secret()})
        super().save_model(request, obj, form, change)


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["at", "http_status", "ok", "latency_ms", "answer"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ObjectActionsMixin, ReadOnlyMixin, PortalAdmin):
    selector = staticmethod(lambda user: WebhookDelivery.objects.select_related("endpoint__client"))
    list_display = ["created_at", "event", "event_id", "endpoint", "state", "attempts", "last_status"]
    list_filter = ["state", "event"]
    list_select_related = ["endpoint__client"]
    search_fields = ["=event_id"]
    fields = ["endpoint", "event", "event_id", "state", "attempts", "next_attempt_at", "retry_until", "payload"]
    readonly_fields = fields + ["created_at", "delivered_at", "last_status", "last_error"]
    inlines = [AttemptInline]
    object_actions = [
        ObjectAction(
            "deliver-again",
            _("Deliver again"),
            run=lambda d, actor: notify.webhook_redeliver(delivery_id=d.pk, actor=actor),
            available=lambda d, user: user.has_perm("notifications.change_webhookdelivery"),
            note=_("Sent again with the same event id (the merchant drops it if it has it), tried for 24 hours."),
        )
    ]
