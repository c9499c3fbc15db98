from django.urls import path
from rest_framework.routers import DefaultRouter

from interception.api import views

router = DefaultRouter()
router.register("outlets", views.OutletViewSet, basename="outlet")
router.register("merchants", views.MerchantViewSet, basename="merchant")
router.register("ewaybill-accounts", views.EwaybillAccountViewSet, basename="ewaybill-account")
router.register("outlet-memberships", views.OutletMembershipViewSet, basename="outlet-membership")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("parcels", views.ParcelViewSet, basename="parcel")
router.register("after-sales", views.AfterSaleViewSet, basename="after-sale")
router.register("interceptions", views.InterceptionViewSet, basename="interception")

urlpatterns = [
    path("agreements/", views.AgreementView.as_view(), name="agreement-sign"),
    path("carriers/<slug:code>/events/", views.CarrierEventView.as_view(), name="carrier-events"),
]
