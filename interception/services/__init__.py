"""The interception app's domain actions, one module per concern; everything outside calls them from here."""

from interception.services.aftersales import (  # noqa: F401
    aftersale_agree_refund,
    aftersale_ask_platform,
    aftersale_refuse,
    refuse_allowed,
)
from interception.services.callbacks import carrier_callback, carrier_event_receive, tracking_record  # noqa: F401
from interception.services.contracts import (  # noqa: F401
    APPLICATION,
    APPROVE,
    FEE_CHANGE,
    REJECT,
    Decision,
    DecisionsRefused,
    agreement_sign,
    amendment_approve,
    amendment_reject,
    contract_amend_fee,
    contract_apply,
    contract_approve,
    contract_close,
    contract_open_by_default,
    contract_reject,
    decisions_apply,
)
from interception.services.deadlines import deadlines_process, interception_poll  # noqa: F401
from interception.services.parcels import aftersale_close, aftersale_create, parcel_create  # noqa: F401
from interception.services.results import (  # noqa: F401
    interception_confirm_return,
    interception_record_result,
    result_recordable,
    return_confirmable,
)
from interception.services.starting import (  # noqa: F401
    carrier_modes,
    interception_preview,
    interception_previews,
    interception_start,
    interception_submit,
    interceptions_start,
    interceptions_start_many,
)
from interception.services.tokens import (  # noqa: F401
    IssuedToken,
    api_token_issue,
    api_token_revoke,
    api_token_rotate,
)
