"""Django's zh_Hans formats, with amounts grouped by thousands (千分位) as Chinese finance writes them."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

NUMBER_GROUPING = 3
THOUSAND_SEPARATOR = ","
DECIMAL_SEPARATOR = "."
