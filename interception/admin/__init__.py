"""The interception app's admin, a module per area; Django's autodiscovery imports this package."""

from interception.admin import contracts, interceptions, network, notifications  # noqa: F401
