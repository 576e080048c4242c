"""python-telegram-bot: an error handler with the update's context, and the getUpdates monitor
behind the heartbeat. Tested with Debian's 13.x (threads, sync callbacks); written for 20+
(asyncio, async callbacks) too.

PTB 13:
    updater = Updater(token=resolve_bot_token())
    botpulse.integrations.ptb.instrument(updater, monitor_slug="support-bot")
PTB 20+:
    application = Application.builder().token(resolve_bot_token()).build()
    botpulse.integrations.ptb.instrument(application, monitor_slug="support-bot")
"""
import asyncio

from .. import get_client
from ..heartbeat import Heartbeat, PollingMonitor
from ..scrub import register_secret

MECHANISM = {"type": "telegram.ext.error_handler", "handled": False}
_CODES = {"Conflict": 409, "RetryAfter": 429, "BadRequest": 400, "Unauthorized": 401, "InvalidToken": 401, "Forbidden": 403}


def _is_update(update):
    return isinstance(update, dict) or hasattr(update, "update_id")


def report(update, error, client=None):
    """Reports an error a handler raised, with the update's Telegram context (noise is counted, not reported)."""
    client = client or get_client()
    return client.capture_exception(error, update=update if _is_update(update) else None, mechanism=dict(MECHANISM))


def error_handler(update, context):
    """PTB 13: `dispatcher.add_error_handler(error_handler)`."""
    report(update, context.error)


async def async_error_handler(update, context):
    """PTB 20+: `application.add_error_handler(async_error_handler)`."""
    report(update, context.error)


def _error_code(error):
    code = getattr(error, "error_code", None)
    if isinstance(code, int):
        return code
    for cls in type(error).__mro__:
        if cls.__name__ in _CODES:
            return _CODES[cls.__name__]
    return None


def monitor_bot(bot, monitor):
    """Makes every getUpdates of `bot` report to `monitor` (a subclass swapped in: PTB objects have
    __slots__, and PTB 20 freezes them, so an attribute cannot be set)."""
    cls = type(bot)
    original = cls.get_updates

    if asyncio.iscoroutinefunction(original):
        async def get_updates(self, *args, **kwargs):
            monitor.started(kwargs.get("timeout"))
            try:
                updates = await original(self, *args, **kwargs)
            except Exception as error:
                monitor.failed(str(error), _error_code(error))
                raise
            monitor.succeeded(len(updates))
            return updates
    else:
        def get_updates(self, *args, **kwargs):
            monitor.started(kwargs.get("timeout"))
            try:
                updates = original(self, *args, **kwargs)
            except Exception as error:
                monitor.failed(str(error), _error_code(error))
                raise
            monitor.succeeded(len(updates))
            return updates

    monitored = type(cls.__name__, (cls,), {"__slots__": (), "get_updates": get_updates, "__module__": cls.__module__})
    object.__setattr__(bot, "__class__", monitored)
    return monitor


def instrument(target, monitor_slug=None, client=None, heartbeat_interval=20.0, redis=None, down_after_minutes=None):
    """Adds the error handler to a PTB 13 Updater/Dispatcher or a PTB 20+ Application, registers the
    bot token for scrubbing, and with `monitor_slug` starts a heartbeat fed by getUpdates.
    Returns the PollingMonitor (and sets `.heartbeat` on it when one was started)."""
    client = client or get_client()
    bot = getattr(target, "bot", None)
    register_secret(getattr(bot, "token", None))
    dispatcher = getattr(target, "dispatcher", None)
    if dispatcher is not None:  # PTB 13 Updater
        dispatcher.add_error_handler(lambda update, context: report(update, context.error, client))
    elif asyncio.iscoroutinefunction(getattr(type(bot), "get_updates", None)):  # PTB 20+ Application

        async def on_error(update, context):
            report(update, context.error, client)

        target.add_error_handler(on_error)
    else:  # PTB 13 Dispatcher
        target.add_error_handler(lambda update, context: report(update, context.error, client))
    monitor = PollingMonitor(client)
    if bot is not None:
        monitor_bot(bot, monitor)
    monitor.heartbeat = None
    if monitor_slug:
        monitor.heartbeat = Heartbeat(monitor, monitor_slug, client=client, interval=heartbeat_interval, redis=redis,
                                      down_after_minutes=down_after_minutes).start()
    return monitor
