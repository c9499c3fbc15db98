from rest_framework.routers import DefaultRouter

from interception.api import views

router = DefaultRouter()
router.register("outlets", views.OutletViewSet, basename="outlet")
router.register("merchants", views.MerchantViewSet, basename="merchant")
router.register("ewaybill-accounts", views.EwaybillAccountViewSet, basename="ewaybill-account")
router.register("outlet-memberships", views.OutletMembershipViewSet, basename="outlet-membership")
