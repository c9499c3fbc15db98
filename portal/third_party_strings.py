"""Texts of django-axes, Django's admin and django-import-export that their own catalogues have no Chinese
for; listed so makemessages puts them in ours.

Never imported: Django looks every lazy text up in all catalogues, and ours (LOCALE_PATHS) comes first.
"""

from django.utils.translation import gettext_noop

AXES = [
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
    gettext_noop("Locked Out"),
    gettext_noop("Access lock out"),
    gettext_noop("Expires At"),
    gettext_noop("Meta Data"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"),
]

# Django admin's own texts its Chinese catalogue has none for yet: the app list's headers for screen readers.
DJANGO_ADMIN = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
]

# django-import-export's texts its Chinese catalogue leaves empty.
IMPORT_EXPORT = [
    gettext_noop("Select all"),
]
