"""Telegram context of an update, from python-telegram-bot `Update` objects (13 and 20+), aiogram
objects (2 and 3) and plain update dicts, as packages/sdk/src/update.ts reads raw updates.

The current update lives in a context variable, so that captures and log records made while it
is handled (threads of PTB 13, tasks of asyncio) carry its context.
"""
import contextlib
import contextvars
import time

_current = contextvars.ContextVar("botpulse_update", default=None)


def update_as_dict(update):
    """The raw Bot API shape of an update object, or None."""
    if isinstance(update, dict):
        return update
    for method, kwargs in (("to_dict", {}), ("model_dump", {"by_alias": True, "exclude_none": True}), ("to_python", {})):
        fn = getattr(update, method, None)
        if callable(fn):
            try:
                raw = fn(**kwargs)
            except Exception:
                continue
            if isinstance(raw, dict):
                return raw
    return None


def _update_type(raw):
    for key, value in raw.items():
        if key != "update_id" and value not in (None, {}, []):
            return key
    return "unknown"


def telegram_context(update, role=None):
    """`contexts.telegram` of an update: ids, types, the sender's names and language, a role."""
    raw = update_as_dict(update)
    if raw is None:
        return {}
    context = {}
    if isinstance(raw.get("update_id"), int):
        context["update_id"] = raw["update_id"]
    kind = _update_type(raw)
    context["update_type"] = kind
    payload = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
    if isinstance(chat, dict) and isinstance(chat.get("id"), (int, str)):
        context.update(chat_fields(chat))
    user = payload.get("from") or payload.get("from_user") or payload.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), int):
        context.update(user_fields(user))
    if role:
        context["role"] = role
    return context


def chat_fields(chat):
    """chat_id, chat_type (and group_id for groups) of a chat dict or object."""
    get = chat.get if isinstance(chat, dict) else (lambda k: getattr(chat, k, None))
    out = {}
    if get("id") is not None:
        out["chat_id"] = get("id")
    kind = get("type")
    kind = getattr(kind, "value", kind)
    if kind:
        out["chat_type"] = str(kind)
        if kind in ("group", "supergroup"):
            out["group_id"] = get("id")
    return out


def user_fields(user):
    """user_id, username, names, language_code of a user dict or object."""
    get = user.get if isinstance(user, dict) else (lambda k: getattr(user, k, None))
    out = {}
    if get("id") is not None:
        out["user_id"] = get("id")
    for key in ("username", "first_name", "last_name", "language_code"):
        if get(key):
            out[key] = get(key)
    return out


class UpdateScope(object):
    """What is known about the update being handled: its context, breadcrumbs and start time."""

    def __init__(self, telegram):
        self.telegram = telegram
        self.breadcrumbs = []
        self.started = time.time()


@contextlib.contextmanager
def update_scope(update=None, telegram=None, role=None):
    """Runs the block as the handling of `update`: captures and log records inside carry its context.

    with botpulse.update_scope(update):
        handle(update)
    """
    context = dict(telegram) if telegram is not None else telegram_context(update, role=role)
    token = _current.set(UpdateScope(context))
    try:
        yield context
    finally:
        _current.reset(token)


def current_update():
    """The UpdateScope of the update being handled, or None."""
    return _current.get()
