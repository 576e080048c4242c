"""Seed 000's ErrorTracker calls, exactly as its docs write them, without an explicit init()."""
import asyncio
import enum

import _common
from _common import say

try:
    from django.db.models import TextChoices
except ImportError:  # a virtual environment without Django: the same str-valued enum
    class TextChoices(str, enum.Enum):
        pass


class BotErrorEvent(object):
    class Origin(TextChoices):
        MINIAPP = "miniapp"
        CELERY = "celery"

    class Severity(TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"


class User(object):
    chat_id = 555001


class Request(object):
    id = "req-9"


user, request = User(), Request()

from botpulse import ErrorTracker  # noqa: E402

try:
    raise LookupError("payment provider answered 502")
except LookupError as exc:
    first = ErrorTracker.log(
        origin=BotErrorEvent.Origin.MINIAPP,
        severity=BotErrorEvent.Severity.WARNING,
        handler="miniapp.views.payments",
        chat_id=user.chat_id,
        payload={"request_id": request.id},
        exc=exc,
    )


async def generation():
    try:
        raise TimeoutError("image model did not answer")
    except TimeoutError as exc:
        return await ErrorTracker.alog(
            origin=BotErrorEvent.Origin.CELERY,
            severity=BotErrorEvent.Severity.CRITICAL,
            handler="botapp.tasks.generate_image",
            chat_id=user.chat_id,
            payload={"gen_request_id": 42, "api_token": "sk-live-should-not-leave", "prompt": "a cat"},
            exc=exc,
        )


second = asyncio.run(generation())
import botpulse  # noqa: E402

botpulse.flush(5)
say(event="done", warning=first, critical=second, sentry=botpulse.get_client().uses_sentry_sdk)
