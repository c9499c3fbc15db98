"""Buttons on change pages and bulk actions with a confirmation page; both call services.

An ObjectAction is one domain action on one object: a button on the change
page that opens a small form (a reason, a fee) and, on POST, calls the
service. The same ObjectAction serves as a bulk action on the changelist:
a confirmation page lists every selected object, then a result page says
per object what happened.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from kernel.admin_base import admin_page
from kernel.errors import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RequiredReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=True)


class NoForm(forms.Form):
    pass


@dataclass
class ObjectAction:
    name: str
    label: str
    run: object  # (obj, actor, **cleaned_data) -> anything; raises DomainError when refused
    available: object  # (obj, user) -> bool: show the button?
    form_class: type = NoForm
    bulk: bool = True
    danger: bool = False
    note: str = ""  # shown on the confirmation page: what the action will do
    # Rendered with the run's return value as `result` instead of redirecting to the change page: for
    # what may be shown only once (a new API key), so it is never kept in a message in the session.
    result_template: str = ""
    # (objects, actor, **cleaned_data) -> [(obj, done, message)]: the bulk action as one set-based service call
    # instead of `run` per object.
    run_many: object = None
    done: str = ""  # the success message, "%(obj)s" for the object: "Application %(obj)s approved."


def done_message(action, obj):
    """What a button did, in words: the action's own sentence, or "<action> — <object>: done"."""
    if action.done:
        return action.done % {"obj": obj}
    return _("%(obj)s: %(action)s — done.") % {"action": action.label, "obj": obj}


def can_transition(name):
    """An ObjectAction `available` test: the transition `name` is possible now and the user may take it."""

    def available(obj, user):
        bound = getattr(obj, name)
        return can_proceed(bound) and has_transition_perm(bound, user)

    return available


def describe_error(exc):
    if exc.errors and len(exc.errors) > 1:
        return "; ".join(str(e["message"]) for e in exc.errors)
    return str(exc.message)


class ObjectActionsMixin:
    """Add `object_actions = [ObjectAction(...)]` to a ModelAdmin."""

    object_actions = ()
    change_form_template = "admin/portal/change_form_actions.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/do/<slug:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name="{}_{}_action".format(*info),
            )
        ]
        return urls + super().get_urls()

    def _object_action(self, name):
        for action in self.object_actions:
            if action.name == name:
                return action
        raise Http404

    def object_links(self, request, obj):
        """(label, url) of pages about the object (downloads, sub-pages) shown beside the buttons."""
        return []

    def available_object_actions(self, request, obj):
        return [a for a in self.object_actions if obj is not None and a.available(obj, request.user)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        extra_context["object_actions"] = (
            [
                (a, reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_action", args=[obj.pk, a.name]))
                for a in self.available_object_actions(request, obj)
            ]
            if obj
            else []
        )
        extra_context["object_links"] = self.object_links(request, obj) if obj else []
        return super().change_view(request, object_id, form_url, extra_context)

    def object_action_view(self, request, object_id, action):
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        action = self._object_action(action)
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        form = action.form_class(request.POST if request.method == "POST" else None)
        context = {
            "title": f"{action.label}: {obj}",
            "original": obj,
            "action": action,
            "form": form,
            "change_url": change_url,
        }
        if request.method == "POST" and form.is_valid():
            try:
                result = action.run(obj, request.user, **form.cleaned_data)
            except DomainError as exc:
                messages.error(request, describe_error(exc))
            else:
                if action.result_template:
                    return admin_page(self, request, action.result_template, **context, result=result)
                messages.success(request, done_message(action, obj))
                return HttpResponseRedirect(change_url)
        return admin_page(self, request, "admin/portal/object_action.html", **context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in self.object_actions:
            if action.bulk:
                actions[f"bulk_{action.name}"] = (
                    _bulk(action),
                    f"bulk_{action.name}",
                    _("%(label)s selected") % {"label": action.label},
                )
        return actions


def _bulk(action):
    def run_bulk(modeladmin, request, queryset):
        form = action.form_class(request.POST if request.POST.get("confirmed") else None)
        objects = list(queryset[:500])
        context = {
            "action": action,
            "action_name": f"bulk_{action.name}",
            "objects": objects,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "title": _("%(label)s: %(n)s selected") % {"label": action.label, "n": len(objects)},
        }
        if request.POST.get("confirmed") and form.is_valid():
            if action.run_many is not None:
                outcomes = action.run_many(objects, request.user, **form.cleaned_data)
            else:
                outcomes = []
                for obj in objects:
                    try:
                        action.run(obj, request.user, **form.cleaned_data)
                    except DomainError as exc:
                        outcomes.append((obj, False, describe_error(exc)))
                    else:
                        outcomes.append((obj, True, _("done")))
            context["outcomes"] = outcomes
            context["done"] = sum(1 for o in outcomes if o[1])
            context["refused"] = len(outcomes) - context["done"]
            return admin_page(modeladmin, request, "admin/portal/bulk_result.html", **context)
        return admin_page(modeladmin, request, "admin/portal/bulk_confirm.html", **context)

    run_bulk.__name__ = f"bulk_{action.name}"
    return run_bulk
