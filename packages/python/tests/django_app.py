"""Django test client against a view that raises and a missing page, with botpulse's middleware."""
import _common
from _common import say

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def item(request, item_id):
    raise KeyError("item %d has no price" % item_id)


def ok(request):
    return HttpResponse("ok")


urlpatterns = [path("items/<int:item_id>/", item), path("ok/", ok)]

settings.configure(
    DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="not-a-secret-for-tests",
    MIDDLEWARE=["botpulse.integrations.django.BotpulseMiddleware"], INSTALLED_APPS=[],
)
django.setup()

import botpulse  # noqa: E402
from django.test import Client  # noqa: E402

client = botpulse.init()
http = Client(raise_request_exception=False, HTTP_USER_AGENT="django-test-agent/1.0")
statuses = [http.get("/items/7/", {"key": "abc123"}).status_code, http.get("/missing/page/").status_code,
            http.get("/ok/").status_code]
botpulse.flush(5)
say(event="done", statuses=statuses, counters=client.counters(), sentry=client.uses_sentry_sdk)
