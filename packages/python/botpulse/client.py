"""The client: events with Telegram context, the noise filter, scrubbing, and two ways to send.

With sentry-sdk installed (1.9 as Debian ships it, or 2.x) events go through it: botpulse
initialises it (or joins an `init` the bot already made), adds its before_send (noise, scrubbing)
and sends check-ins and log items through the same transport. Without it, botpulse builds the
events itself and sends envelopes with urllib from a background thread (transport.py).
"""
import atexit
import collections
import json
import logging
import os
import platform
import random
import sys
import threading
import time
import uuid

from .config import Settings
from .context import current_update, telegram_context
from .noise import NoiseFilter, classify_error
from .scrub import register_secret, scrub_string, scrub_value
from .stack import exceptions_from
from .transport import HttpTransport, iso_now
from .version import SDK_NAME, SDK_VERSION

logger = logging.getLogger("botpulse")

_MAX_STRING = 8192
# Discards the bot's own settings asked for: counted and reported, not logged.
_CHOSEN_DISCARDS = frozenset(["sample_rate", "before_send", "event_processor"])


def _telegram_tags(telegram):
    tags = {}
    if telegram.get("update_type"):
        tags["update_type"] = telegram["update_type"]
    if telegram.get("chat_type"):
        tags["chat_type"] = telegram["chat_type"]
    return tags


class Client(object):
    """A Botpulse client. Most programs call `botpulse.init()` once and use the module functions."""

    def __init__(self, dsn=None, environment=None, release=None, server_name=None, sample_rate=None,
                 traces_sample_rate=None, profiles_sample_rate=None, noise=None, use_sentry_sdk=None,
                 before_send=None, max_breadcrumbs=100, transport_options=None, env=None, bot_token=None):
        self.settings = Settings(dsn, environment, release, server_name, sample_rate, traces_sample_rate,
                                 profiles_sample_rate, env)
        if noise is False:
            self.noise = None
        elif isinstance(noise, NoiseFilter):
            self.noise = noise
        else:
            self.noise = NoiseFilter(**(noise or {}))
        self.before_send = before_send
        self.max_breadcrumbs = max_breadcrumbs
        self.global_tags = {}
        self.global_contexts = {}
        self.global_user = None
        self.breadcrumbs = collections.deque(maxlen=max_breadcrumbs)
        self.stats = {"noise": collections.Counter(), "events": 0, "dropped": collections.Counter(),
                      "discarded": collections.Counter()}
        self._pending_discards = collections.Counter()
        self._last_logged = {}
        self._lock = threading.Lock()
        register_secret(bot_token)
        self.backend = self._make_backend(use_sentry_sdk, transport_options or {})
        atexit.register(self.flush, 2.0)

    def _make_backend(self, use_sentry_sdk, transport_options):
        if use_sentry_sdk is not False:
            try:
                import sentry_sdk  # noqa: F401
            except ImportError:
                if use_sentry_sdk:
                    raise
            else:
                return SentryBackend(self)
        return OwnBackend(self, transport_options)

    @property
    def uses_sentry_sdk(self):
        return isinstance(self.backend, SentryBackend)

    # ── capture ──────────────────────────────────────────────────────────────

    def capture_exception(self, exc=None, update=None, level="error", tags=None, contexts=None, extra=None,
                          user=None, fingerprint=None, mechanism=None, force=False, transaction=None,
                          request=None):
        """Reports an exception (the one being handled when `exc` is None). Expected Telegram errors
        become a counter and a breadcrumb instead, unless `force`. Returns the event id or None."""
        if exc is None:
            exc = sys.exc_info()[1]
        if exc is None:
            return None
        if not force:
            kind = self.noise_kind(exc)
            if kind:
                self.record_noise(kind, exc)
                return None
        return self._capture(exc, None, level, update, tags, contexts, extra, user, fingerprint, mechanism,
                             transaction, request)

    def capture_message(self, message, level="info", update=None, tags=None, contexts=None, extra=None,
                        user=None, fingerprint=None, transaction=None, request=None):
        """Reports a message. Returns the event id or None."""
        return self._capture(None, message, level, update, tags, contexts, extra, user, fingerprint, None,
                             transaction, request)

    def _capture(self, exc, message, level, update, tags, contexts, extra, user, fingerprint, mechanism,
                 transaction, request):
        if random.random() >= self.settings.sample_rate:
            self.record_discard("sample_rate", "error")
            return None
        scope = current_update()
        telegram = telegram_context(update) if update is not None else (dict(scope.telegram) if scope else None)
        all_tags, all_contexts, merged_user = dict(self.global_tags), dict(self.global_contexts), self.global_user
        if telegram:
            all_contexts["telegram"] = telegram
            all_tags.update(_telegram_tags(telegram))
            if telegram.get("user_id") is not None:
                from_update = {"id": str(telegram["user_id"])}
                if telegram.get("username"):
                    from_update["username"] = telegram["username"]
                merged_user = dict(from_update, **(merged_user or {}))
        all_tags.update({k: _tag_value(v) for k, v in (tags or {}).items() if v is not None})
        all_contexts.update(contexts or {})
        if user:
            merged_user = dict(merged_user or {}, **user)
        data = {"level": level, "tags": all_tags, "contexts": all_contexts, "extra": dict(extra or {}),
                "user": merged_user, "fingerprint": fingerprint, "transaction": transaction, "request": request,
                "breadcrumbs": list(scope.breadcrumbs) if scope else []}
        try:
            event_id = self.backend.capture(exc, message, mechanism, data)
        except Exception:  # reporting must never become the bot's error
            logger.warning("botpulse: an event could not be built or queued", exc_info=True)
            self.stats["dropped"]["internal_sdk_error"] += 1
            return None
        if event_id:
            self.stats["events"] += 1
        return event_id

    # ── noise, breadcrumbs, scope ────────────────────────────────────────────

    def noise_kind(self, exc):
        """The noise kind of an exception under this client's filter, or None when it is reportable."""
        return self.noise.classify(exc) if self.noise is not None else None

    def record_noise(self, kind, exc):
        """Counts an expected Telegram error and leaves a breadcrumb."""
        with self._lock:
            self.stats["noise"][kind] += 1
        data = {"kind": kind, "error_type": type(exc).__name__}
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            data["retry_after"] = retry_after
        self.add_breadcrumb(category="telegram.noise", message=scrub_string(str(exc)), level="warning", data=data,
                            type="error")

    def add_breadcrumb(self, category=None, message=None, level="info", data=None, type="default"):
        crumb = scrub_value({"timestamp": iso_now(), "type": type, "category": category, "message": message,
                             "level": level, "data": data or {}}, max_string=_MAX_STRING)
        scope = current_update()
        if scope is not None:
            scope.breadcrumbs.append(crumb)
            del scope.breadcrumbs[:-self.max_breadcrumbs]
        self.backend.add_breadcrumb(crumb, in_update=scope is not None)

    def set_tag(self, key, value):
        self.global_tags[key] = _tag_value(value)

    def set_context(self, name, value):
        self.global_contexts[name] = value

    def set_user(self, user):
        self.global_user = user

    # ── raw items, delivery ──────────────────────────────────────────────────

    def send_item(self, item_type, payload, headers=None):
        """Queues a scrubbed envelope item (check-ins, logs). Never blocks, never raises."""
        try:
            self.backend.send_item(item_type, scrub_value(payload, max_depth=16), headers)
        except Exception:
            logger.warning("botpulse: a %s item could not be queued", item_type, exc_info=True)
            self.record_discard("internal_sdk_error", "default")

    def record_discard(self, reason, category, quantity=1):
        """An item dropped for good: counted, reported to the server in the next client report, and
        (unless the bot's own settings chose it: sampling, before_send) logged, at most once a minute per kind."""
        key = "%s:%s" % (reason, category)
        with self._lock:
            self.stats["discarded"][key] += quantity
            if category != "internal":
                self._pending_discards[(reason, category)] += quantity
            now = time.monotonic()
            quiet = reason in _CHOSEN_DISCARDS or now - self._last_logged.get(key, -1e9) < 60
            if not quiet:
                self._last_logged[key] = now
        if not quiet:
            logger.warning("botpulse: %d %s item(s) dropped for good (%s); counted in counters()['discarded']", quantity, category, reason)

    def take_client_report(self):
        with self._lock:
            if not self._pending_discards:
                return None
            discarded = [{"reason": r, "category": c, "quantity": q} for (r, c), q in self._pending_discards.items()]
            self._pending_discards.clear()
        return {"timestamp": time.time(), "discarded_events": discarded}

    def flush(self, timeout=2.0):
        """Waits until everything captured so far is delivered; False when `timeout` passed first."""
        for hook in list(_flush_hooks):
            try:
                hook()
            except Exception:
                logger.warning("botpulse: a flush hook failed", exc_info=True)
        return self.backend.flush(timeout)

    def counters(self):
        return {"noise": dict(self.stats["noise"]), "events": self.stats["events"],
                "dropped": dict(self.stats["dropped"]), "discarded": dict(self.stats["discarded"])}


_flush_hooks = []


def on_flush(hook):
    """Registers a function that pushes buffered data (log records) before a flush."""
    _flush_hooks.append(hook)


def _tag_value(value):
    value = getattr(value, "value", value)
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _event_id():
    return uuid.uuid4().hex


class OwnBackend(object):
    """Events built here and sent by transport.HttpTransport (no sentry-sdk)."""

    def __init__(self, client, transport_options):
        self.client = client
        dsn = client.settings.dsn
        self.transport = HttpTransport(dsn, on_discard=client.record_discard, **transport_options) if dsn else None

    def capture(self, exc, message, mechanism, data):
        client, settings = self.client, self.client.settings
        event = {
            "event_id": _event_id(), "timestamp": time.time(), "platform": "python", "level": data["level"],
            "server_name": settings.server_name, "environment": settings.environment,
            "sdk": {"name": SDK_NAME, "version": SDK_VERSION},
            "contexts": dict({"runtime": {"name": platform.python_implementation(), "version": platform.python_version()},
                              "os": {"name": platform.system(), "version": platform.release()}}, **data["contexts"]),
            "tags": data["tags"],
        }
        if settings.release:
            event["release"] = settings.release
        if exc is not None:
            event["exception"] = {"values": exceptions_from(exc, mechanism or {"type": "generic", "handled": True})}
        else:
            event["message"] = message
            event["logentry"] = {"message": message, "formatted": message}
        for key in ("extra", "user", "fingerprint", "transaction", "request"):
            if data[key]:
                event[key] = data[key]
        crumbs = list(client.breadcrumbs) + data["breadcrumbs"]
        if crumbs:
            event["breadcrumbs"] = {"values": crumbs[-client.max_breadcrumbs:]}
        if client.before_send is not None:
            event = client.before_send(event, {"exc_info": (type(exc), exc, exc.__traceback__) if exc else None})
            if event is None:
                client.record_discard("before_send", "error")
                return None
        exception = event.pop("exception", None)
        clean = scrub_value(event, max_depth=16, max_string=_MAX_STRING)
        if exception is not None:
            clean["exception"] = exception
        payload = scrub_string(json.dumps(clean, default=str)).encode("utf-8")
        if self.transport is None:
            return None
        self.transport.send("event", payload, event_id=clean["event_id"])
        return clean["event_id"]

    def send_item(self, item_type, payload, headers):
        if self.transport is not None:
            self.transport.send(item_type, scrub_string(json.dumps(payload, default=str)).encode("utf-8"), headers)

    def add_breadcrumb(self, crumb, in_update):
        if not in_update:
            self.client.breadcrumbs.append(crumb)

    def flush(self, timeout):
        if self.transport is None:
            return True
        report = self.client.take_client_report()
        if report:
            self.transport.send("client_report", json.dumps(report).encode("utf-8"))
        return self.transport.flush(timeout)


class SentryBackend(object):
    """Events through sentry-sdk 1.9+ or 2.x; botpulse's noise filter and scrubbing in its before_send."""

    def __init__(self, client):
        import sentry_sdk
        from sentry_sdk.utils import event_from_exception

        self.client = client
        self.sdk = sentry_sdk
        self.event_from_exception = event_from_exception
        self.new_scope = getattr(sentry_sdk, "new_scope", None) or sentry_sdk.push_scope
        active = self.active_client()
        settings = client.settings
        if active is None:
            if settings.dsn:
                # Integrations that would report the same failures botpulse's hooks report (Django,
                # Celery...) are not auto-enabled: botpulse's own middleware and signal own them.
                options = dict(dsn=settings.dsn, environment=settings.environment, release=settings.release,
                               server_name=settings.server_name, sample_rate=1.0,
                               traces_sample_rate=settings.traces_sample_rate, send_default_pii=False,
                               before_send=self.before_send, before_breadcrumb=self.before_breadcrumb,
                               auto_enabling_integrations=False)
                # profiles_sample_rate is an option from sentry-sdk 1.18 on; 1.9 refuses unknown options.
                from sentry_sdk.consts import DEFAULT_OPTIONS
                if "profiles_sample_rate" in DEFAULT_OPTIONS:
                    options["profiles_sample_rate"] = settings.profiles_sample_rate
                sentry_sdk.init(**options)
        else:
            # The bot initialised sentry-sdk itself (seed 003's sentry_config.py): botpulse joins in.
            options = active.options
            previous_send, previous_crumb = options.get("before_send"), options.get("before_breadcrumb")
            options["before_send"] = lambda e, h: self.before_send(previous_send(e, h) if previous_send and e else e, h)
            options["before_breadcrumb"] = lambda c, h: self.before_breadcrumb(previous_crumb(c, h) if previous_crumb and c else c, h)

    def active_client(self):
        get_client = getattr(self.sdk, "get_client", None)
        if get_client is not None:
            c = get_client()
            return c if c.is_active() else None
        return self.sdk.Hub.current.client

    def before_send(self, event, hint):
        if event is None:
            return None
        hint = hint or {}
        exc_info = hint.get("exc_info")
        if exc_info and not hint.get("botpulse_force"):
            exc = exc_info[1]
            kind = self.client.noise_kind(exc)
            if kind:
                self.client.record_noise(kind, exc)
                return None
        if self.client.before_send is not None:
            event = self.client.before_send(event, hint)
            if event is None:
                return None
        return scrub_value(event, max_depth=24, max_string=_MAX_STRING)

    def before_breadcrumb(self, crumb, hint):
        return scrub_value(crumb, max_string=_MAX_STRING) if crumb is not None else None

    def capture(self, exc, message, mechanism, data):
        active = self.active_client()
        if active is None:
            return None
        if exc is not None:
            event, hint = self.event_from_exception(exc, client_options=active.options,
                                                    mechanism=mechanism or {"type": "generic", "handled": True})
            hint["botpulse_force"] = True  # the noise decision was made already
        else:
            event, hint = {"message": message, "logentry": {"message": message, "formatted": message}}, {}
        event["level"] = data["level"]
        for key in ("fingerprint", "transaction", "request"):
            if data[key]:
                event[key] = data[key]
        if data["breadcrumbs"]:
            event["breadcrumbs"] = {"values": data["breadcrumbs"]}
        with self.new_scope() as scope:
            for key, value in data["tags"].items():
                scope.set_tag(key, value)
            for name, value in data["contexts"].items():
                scope.set_context(name, value)
            for key, value in data["extra"].items():
                scope.set_extra(key, value)
            if data["user"]:
                scope.set_user(data["user"])
            return self.sdk.capture_event(event, hint=hint)

    def send_item(self, item_type, payload, headers):
        from sentry_sdk.envelope import Envelope, Item, PayloadRef

        active = self.active_client()
        if active is None or active.transport is None:
            return
        envelope = Envelope(headers={"sent_at": iso_now(), "sdk": {"name": SDK_NAME, "version": SDK_VERSION}})
        envelope.add_item(Item(payload=PayloadRef(json=payload), type=item_type, headers=dict(headers or {})))
        active.transport.capture_envelope(envelope)

    def add_breadcrumb(self, crumb, in_update):
        if not in_update:
            self.sdk.add_breadcrumb(crumb)

    def flush(self, timeout):
        active = self.active_client()
        if active is None:
            return True
        active.flush(timeout=timeout)
        return True
