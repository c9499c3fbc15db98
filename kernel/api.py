"""API plumbing shared by every app: one error shape, pagination, ids in URLs, time filters."""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, pagination, routers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel import inputs
from kernel.errors import DomainError


class Router(routers.DefaultRouter):
    """Object ids in URLs are ASCII digits: "²" or "١" pass str.isdigit() and would reach the database."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None and getattr(viewset, "lookup_field", "pk") == "pk":
            viewset.lookup_value_regex = "[0-9]+"
        return super().get_lookup_regex(viewset, lookup_prefix)


class AwareDateTimeField(forms.DateTimeField):
    """An ISO 8601 time with its offset, checked as every outside time is (kernel.inputs.aware_datetime)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        parsed, problems = inputs.aware_datetime(value, self.label or "time")
        if problems:
            raise forms.ValidationError(problems[0].message, code=problems[0].code)
        return parsed


class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareDateTimeField


class CursorPagination(pagination.CursorPagination):
    """Cursor pages: constant cost at any depth of a million-row list."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500


def _flatten(detail, prefix=""):
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":  # an error of the object itself belongs to the enclosing field
                yield from _flatten(value, prefix)
            elif isinstance(key, int):  # DRF reports a list item's errors under its index
                yield from _flatten(value, f"{prefix}[{key}]")
            else:
                yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            yield from _flatten(value, prefix if not isinstance(value, (dict, list)) else f"{prefix}[{index}]")
    else:
        yield {"field": prefix or None, "code": getattr(detail, "code", "invalid"), "message": str(detail)}


def exception_handler(exc, context):
    """Every error as {"code", "detail", "errors"}."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = list(_flatten(exc.detail))
        response.data = {"code": "invalid", "detail": errors[0]["message"] if errors else "invalid", "errors": errors}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(getattr(exc, "detail", exc)),
            "errors": [],
        }
    return response
