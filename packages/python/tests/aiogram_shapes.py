"""botpulse's aiogram middleware driven with recorded aiogram 3 shapes (no aiogram here): an
Update with event_type and model_dump, the Chat and User objects aiogram puts into `data`."""
import asyncio
import logging
import os

import _common
from _common import say

import botpulse  # noqa: E402
from botpulse.integrations.aiogram import BotpulseMiddleware  # noqa: E402

# What aiogram 3.x's Update.model_dump(by_alias=True, exclude_none=True) gives for a button press.
RECORDED_UPDATE = {
    "update_id": 730001,
    "callback_query": {
        "id": "4382bfdwdsb323b2d9", "chat_instance": "-88112233",
        "from": {"id": 424242, "is_bot": False, "first_name": "Oleg", "username": "oleg_k", "language_code": "ru"},
        "message": {"message_id": 77, "date": 1733390000, "chat": {"id": -1001234567890, "type": "supergroup", "title": "Drivers"},
                    "text": "Choose a department"},
        "data": "dept:logistics",
    },
}


class Model(object):
    def __init__(self, **fields):
        self.__dict__.update(fields)


class Update(Model):
    @property
    def event_type(self):
        return "callback_query"

    def model_dump(self, by_alias=False, exclude_none=False):
        return RECORDED_UPDATE


class TelegramForbiddenError(Exception):  # aiogram.exceptions.TelegramForbiddenError, by origin
    pass


TelegramForbiddenError.__module__ = "aiogram.exceptions"

update = Update(update_id=730001)
data = {
    "event_update": update,
    "event_chat": Model(id=-1001234567890, type="supergroup", title="Drivers"),
    "event_from_user": Model(id=424242, is_bot=False, first_name="Oleg", username="oleg_k", language_code="ru"),
}
client = botpulse.init()
log = logging.getLogger("bot.handlers")
log.setLevel(logging.INFO)
# Log lines to their own client when the test asks (its stand-in intake shows the raw `log` item).
log_dsn = os.environ.get("BOTPULSE_LOG_DSN")
handler = botpulse.BotpulseHandler(client=botpulse.Client(dsn=log_dsn, use_sentry_sdk=False) if log_dsn else None)
log.addHandler(handler)


async def failing(event, data):
    try:  # a send to a user who blocked the bot, caught by the handler: a breadcrumb of this update
        raise TelegramForbiddenError("Telegram server says - Forbidden: bot was blocked by the user")
    except TelegramForbiddenError as exc:
        botpulse.capture_exception(exc)
    log.info("User balance checked", extra={"balance": 10, "operation": "check_balance", "duration_ms": 45})
    raise ValueError("department logistics has no dispatcher")


async def blocked(event, data):
    raise TelegramForbiddenError("Telegram server says - Forbidden: bot was blocked by the user")


async def run():
    middleware = BotpulseMiddleware(role=lambda event, data: "dispatcher")
    for h in (blocked, failing):
        try:
            await middleware(h, update, data)
        except Exception as exc:
            say(event="raised", type=type(exc).__name__)


asyncio.run(run())
botpulse.flush(5)
say(event="done", counters=client.counters(), sentry=client.uses_sentry_sdk)
