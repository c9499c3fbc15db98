"""Language choice: the portal speaks Chinese unless the person chose English with the switch."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class PortalLocaleMiddleware(LocaleMiddleware):
    """Pages follow the language cookie the switch sets, else LANGUAGE_CODE, whatever the browser asks for:
    staff on an English-language browser still get the Chinese portal their colleagues see. API clients say
    what they want with Accept-Language, as Django's LocaleMiddleware reads it."""

    def process_request(self, request):
        if request.path_info.startswith("/api/"):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
