import pytest
from django.conf import settings


@pytest.fixture
def client(client):
    """These tests read English texts; the portal's default language is Chinese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
