from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from claims.api.views import ClaimViewSet
from interception.api.urls import router as interception_router
from interception.api.urls import urlpatterns as interception_api
from kernel.api import Router
from notifications.api import WebhookDeliveryViewSet, WebhookViewSet
from portal.security import DocsPermission, bad_request, docs_view, page_not_found
from portal.views import health
from settlement.api.views import StatementViewSet

api = Router()
api.registry.extend(interception_router.registry)
api.register("statements", StatementViewSet, basename="statement")
api.register("claims", ClaimViewSet, basename="claim")
api.register("webhooks", WebhookViewSet, basename="webhook")
api.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(interception_api)),
    path("api/v1/", include(api.urls)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[DocsPermission]), name="schema"),
    path(
        "api/docs/",
        docs_view(SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[DocsPermission])),
        name="api-docs",
    ),
    path("health/", health, name="health"),
]

handler400 = bad_request
handler404 = page_not_found
