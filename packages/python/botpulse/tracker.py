"""Seed 000's call shape: `ErrorTracker.log(origin=..., severity=..., handler=..., chat_id=...,
payload=..., exc=...)` and `await ErrorTracker.alog(...)`.

origin and severity may be plain strings or Django TextChoices members (BotErrorEvent.Origin.MINIAPP);
severity maps to the level (critical → fatal, warning → warning, info/debug as they are, anything
else → error); `payload` is scrubbed into the event; a `gen_request_id` in it becomes a tag.
"""
from .scrub import scrub_value

_LEVELS = {"critical": "fatal", "fatal": "fatal", "warning": "warning", "warn": "warning", "info": "info",
           "debug": "debug", "error": "error"}
_GEN_REQUEST_KEYS = ("gen_request_id", "genrequest_id", "gen_request")


def _choice(value):
    """The stored value of a Django choice (`TextChoices` member), else the value itself."""
    value = getattr(value, "value", value)
    return None if value is None else str(value)


def level_of(severity):
    return _LEVELS.get((_choice(severity) or "error").lower(), "error")


def gen_request_id_of(payload):
    """The GenRequest a payload refers to (seed 000): its id, or None."""
    if not isinstance(payload, dict):
        return None
    for key in _GEN_REQUEST_KEYS:
        value = payload.get(key)
        value = getattr(value, "pk", getattr(value, "id", value))
        if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


class ErrorTracker(object):
    """Drop-in for seed 000's botapp.error_tracker.ErrorTracker, reporting to Botpulse."""

    @classmethod
    def log(cls, origin=None, severity="error", handler=None, chat_id=None, payload=None, exc=None,
            message=None, user_id=None, update=None, **extra):
        """Reports one error (or a message when `exc` is None). Returns the event id or None."""
        from . import get_client

        origin_value, severity_value = _choice(origin), _choice(severity) or "error"
        tags = {"origin": origin_value, "severity": severity_value, "handler": handler}
        gen_request_id = gen_request_id_of(payload)
        if gen_request_id is not None:
            tags["gen_request_id"] = gen_request_id
        contexts = {}
        if payload is not None:
            contexts["payload"] = scrub_value(payload if isinstance(payload, dict) else {"value": payload})
        if chat_id is not None or user_id is not None:
            telegram = {}
            if chat_id is not None:
                telegram["chat_id"] = chat_id
                tags["chat_id"] = chat_id
            if user_id is not None:
                telegram["user_id"] = user_id
                tags["user_id"] = user_id
            # As tags, the server reads them as the Telegram context when no update is being handled.
            contexts["error_tracker"] = telegram
        client = get_client()
        level = level_of(severity_value)
        mechanism = {"type": "error_tracker", "handled": True, "data": {"origin": origin_value or ""}}
        if exc is not None:
            return client.capture_exception(exc, update=update, level=level, tags=tags, contexts=contexts,
                                            extra=extra or None, mechanism=mechanism)
        text = message or "%s error in %s" % (origin_value or "unknown", handler or "unknown handler")
        return client.capture_message(text, level=level, update=update, tags=tags, contexts=contexts,
                                      extra=extra or None)

    @classmethod
    async def alog(cls, **kwargs):
        """The same for async code: queuing never blocks, so it runs inline."""
        return cls.log(**kwargs)
