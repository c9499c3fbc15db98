"""The outbox (docs/notifications.md): what services call, in the transaction of the event that causes it.

`enqueue` writes a message for every channel of an audience; `enqueue_webhook` a delivery for every
merchant webhook that chose the event. Nothing is sent here: the runner (`deliver_notifications`) sends.
"""


def enqueue(**kwargs):
    from notifications.outbox import enqueue as _enqueue

    return _enqueue(**kwargs)


def enqueue_webhook(**kwargs):
    from notifications.outbox import enqueue_webhook as _enqueue_webhook

    return _enqueue_webhook(**kwargs)


def in_portal_language(function):
    from notifications.outbox import in_portal_language as _decorate

    return _decorate(function)
