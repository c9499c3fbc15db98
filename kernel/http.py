"""A request refused before any view took it: one answer for the API and the admin."""

from django.http import JsonResponse
from django.template.response import TemplateResponse


def refusal(request, status, code, message, *, field=None):
    """A refused request in the caller's language: our error shape on /api/, a page elsewhere."""
    if request.path_info.startswith("/api/"):
        errors = [{"code": code, "field": field, "message": str(message)}] if field else []
        return JsonResponse({"code": code, "detail": str(message), "errors": errors}, status=status)
    return TemplateResponse(
        request, "portal/request_refused.html", {"message": message, "status": status}, status=status
    ).render()
