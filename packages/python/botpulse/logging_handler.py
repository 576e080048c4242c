"""A logging.Handler that ships records to Botpulse as Sentry `log` items, with seed 002's
structured tags (user_id, update_id, operation, duration_ms, error_type) as attributes.

    logging.getLogger().addHandler(botpulse.BotpulseHandler(level=logging.INFO))
    logger.info("User balance checked", extra={"user_id": 1, "operation": "check_balance", "duration_ms": 45})

The item is what @sentry/node and sentry-python 2.x send: type "log", content type
application/vnd.sentry.items.log+json, item_count, payload {"items": [{timestamp, level, body,
trace_id, attributes: {name: {value, type}}}]}. Inside an update, user_id and update_id come from
it on their own.
"""
import logging
import threading
import time

from .context import current_update
from .scrub import scrub_string, scrub_value

CONTENT_TYPE = "application/vnd.sentry.items.log+json"
# Attributes every LogRecord has: they are not the caller's `extra`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Loggers whose records would loop back through the sender.
_OWN_LOGGERS = ("botpulse", "sentry_sdk", "urllib3.connectionpool")


def level_name(levelno):
    """Sentry log levels: trace, debug, info, warn, error, fatal."""
    if levelno >= logging.CRITICAL:
        return "fatal"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    if levelno >= logging.DEBUG:
        return "debug"
    return "trace"


def attribute(value):
    if isinstance(value, bool):
        return {"value": value, "type": "boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "integer"}
    if isinstance(value, float):
        return {"value": value, "type": "double"}
    if isinstance(value, str):
        return {"value": value, "type": "string"}
    import json
    return {"value": json.dumps(value, default=str), "type": "string"}


class BotpulseHandler(logging.Handler):
    """Batches records (up to `max_batch`, at least every `flush_interval` seconds) into `log` items."""

    def __init__(self, level=logging.INFO, client=None, max_batch=100, flush_interval=1.0):
        logging.Handler.__init__(self, level)
        self._client = client
        self.max_batch = max_batch
        self.flush_interval = flush_interval
        self._batch = []
        self._batch_lock = threading.Lock()
        self._timer = None
        from .client import on_flush
        on_flush(self.flush)

    @property
    def client(self):
        if self._client is None:
            from . import get_client
            self._client = get_client()
        return self._client

    def emit(self, record):
        if record.name.startswith(_OWN_LOGGERS):
            return
        try:
            entry = self.to_entry(record)
        except Exception:
            self.handleError(record)
            return
        with self._batch_lock:
            self._batch.append(entry)
            full = len(self._batch) >= self.max_batch
            if not full and self._timer is None:
                self._timer = threading.Timer(self.flush_interval, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def to_entry(self, record):
        settings = self.client.settings
        attributes = {
            "sentry.environment": settings.environment,
            "logger.name": record.name,
            "code.file.path": record.pathname,
            "code.line.number": record.lineno,
            "code.function.name": record.funcName,
        }
        if settings.release:
            attributes["sentry.release"] = settings.release
        if record.args and isinstance(record.msg, str):
            attributes["sentry.message.template"] = record.msg
        scope = current_update()
        if scope is not None:
            telegram = scope.telegram
            if telegram.get("user_id") is not None:
                attributes["user_id"] = telegram["user_id"]
            if telegram.get("update_id") is not None:
                attributes["update_id"] = telegram["update_id"]
            if telegram.get("update_type"):
                attributes["operation"] = "update." + telegram["update_type"]
            attributes["duration_ms"] = int((time.time() - scope.started) * 1000)
        if record.exc_info and record.exc_info[1] is not None:
            attributes["error_type"] = type(record.exc_info[1]).__name__
            attributes["exception.message"] = str(record.exc_info[1])
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and value is not None:
                attributes[key] = value
        clean = scrub_value(attributes, max_string=16384)
        return {
            "timestamp": record.created,
            "level": level_name(record.levelno),
            "body": scrub_string(record.getMessage()),
            "attributes": {key: attribute(value) for key, value in clean.items()},
        }

    def flush(self):
        with self._batch_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            items, self._batch = self._batch, []
        if items:
            self.client.send_item("log", {"items": items}, {"item_count": len(items), "content_type": CONTENT_TYPE})
