from interception.services.contracts import (  # noqa: F401
    agreement_sign,
    amendment_approve,
    amendment_reject,
    contract_amend_fee,
    contract_apply,
    contract_approve,
    contract_close,
    contract_reject,
)
from interception.services.interceptions import (  # noqa: F401,E402
    aftersale_agree_refund,
    aftersale_ask_platform,
    aftersale_close,
    aftersale_create,
    aftersale_refuse,
    carrier_event_receive,
    deadlines_process,
    interception_preview,
    interception_record_result,
    interception_start,
    interception_submit,
    parcel_create,
    refuse_allowed,
    result_recordable,
)
from interception.services.tokens import (  # noqa: F401,E402
    IssuedToken,
    api_token_issue,
    api_token_revoke,
    api_token_rotate,
)
