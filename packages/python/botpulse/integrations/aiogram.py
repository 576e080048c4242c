"""aiogram 3: an outer middleware on every update (aiogram takes any async callable as middleware).

    dp.update.outer_middleware(BotpulseMiddleware())

Each update is handled in an update scope (its Telegram context for captures and log records, a
breadcrumb); an error that escapes the handlers is reported (noise counted instead) and raised again.
aiogram 2 users call `botpulse.capture_exception(exc, update=update)` in their errors handler.
"""
from .. import get_client
from ..context import chat_fields, telegram_context, update_scope, user_fields


class BotpulseMiddleware(object):
    def __init__(self, client=None, role=None, swallow_noise=False):
        """`role(event, data)` names the user's role (contexts.telegram.role); `swallow_noise` stops
        expected Telegram errors (blocked, 429...) from reaching aiogram's own error handling."""
        self._client = client
        self.role = role
        self.swallow_noise = swallow_noise

    @property
    def client(self):
        return self._client or get_client()

    def context_of(self, event, data):
        update = data.get("event_update") or event
        telegram = telegram_context(update) if hasattr(update, "update_id") or isinstance(update, dict) else {}
        event_type = getattr(update, "event_type", None)
        if isinstance(event_type, str) and event_type:
            telegram["update_type"] = event_type
        chat, user = data.get("event_chat"), data.get("event_from_user")
        if chat is not None:
            telegram.update(chat_fields(chat))
        if user is not None:
            telegram.update(user_fields(user))
        if self.role is not None:
            role = self.role(event, data)
            if role:
                telegram["role"] = role
        return telegram

    async def __call__(self, handler, event, data):
        client = self.client
        with update_scope(telegram=self.context_of(event, data)) as telegram:
            crumb = {"update_id": telegram.get("update_id")}
            if telegram.get("chat_id") is not None:
                crumb["chat_id"] = telegram["chat_id"]
            client.add_breadcrumb(category="telegram.update", message="update %s" % telegram.get("update_type", "unknown"), data=crumb)
            try:
                return await handler(event, data)
            except Exception as exc:
                client.capture_exception(exc, mechanism={"type": "aiogram.middleware", "handled": False})
                if self.swallow_noise and client.noise_kind(exc):
                    return None
                raise
