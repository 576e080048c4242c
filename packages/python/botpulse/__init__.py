"""Botpulse for Python Telegram bots.

    import botpulse
    botpulse.init()                      # BOTPULSE_DSN / SENTRY_DSN, SENTRY_ENVIRONMENT, ...
    botpulse.capture_exception(exc, update=update)

Standard library only; sent through sentry-sdk (1.9 or 2.x) when it is installed. See docs/python.md.
"""
import threading

from .client import Client, on_flush
from .context import current_update, telegram_context, update_scope
from .noise import DEFAULT_NOISE_KINDS, NoiseFilter, classify_error
from .scrub import register_secret, scrub_string, scrub_value
from .token import BotTokenError, resolve_bot_token, select_bot_token
from .version import SDK_VERSION as __version__

_client = None
_client_lock = threading.Lock()


def init(**options):
    """Creates the process's client from `options` and the environment (see Client). Returns it."""
    global _client
    with _client_lock:
        _client = Client(**options)
        return _client


def get_client():
    """The client of `init()`; initialised from the environment on first use if `init()` was not called."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = Client()
    return _client


def capture_exception(exc=None, **kwargs):
    return get_client().capture_exception(exc, **kwargs)


def capture_message(message, level="info", **kwargs):
    return get_client().capture_message(message, level, **kwargs)


def add_breadcrumb(category=None, message=None, level="info", data=None):
    get_client().add_breadcrumb(category=category, message=message, level=level, data=data)


def set_tag(key, value):
    get_client().set_tag(key, value)


def set_context(name, value):
    get_client().set_context(name, value)


def set_user(user):
    get_client().set_user(user)


def flush(timeout=2.0):
    return get_client().flush(timeout)


def counters():
    return get_client().counters()


from .tracker import ErrorTracker  # noqa: E402  (uses get_client)
from .logging_handler import BotpulseHandler  # noqa: E402
from .heartbeat import Heartbeat, PollingMonitor  # noqa: E402
from .lock import LockHeldError, PollingLock  # noqa: E402

__all__ = [
    "init", "get_client", "capture_exception", "capture_message", "add_breadcrumb", "set_tag", "set_context",
    "set_user", "flush", "counters", "Client", "ErrorTracker", "BotpulseHandler", "Heartbeat", "PollingMonitor",
    "PollingLock", "LockHeldError", "BotTokenError", "select_bot_token", "resolve_bot_token", "update_scope",
    "current_update", "telegram_context", "NoiseFilter", "classify_error", "DEFAULT_NOISE_KINDS",
    "register_secret", "scrub_string", "scrub_value", "on_flush",
]
