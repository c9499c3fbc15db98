from interception.models.network import (  # noqa: F401
    ApiClient,
    Carrier,
    EwaybillAccount,
    GoodsCategory,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
    PlatformCarrier,
    SettlementMode,
)
