"""Sentry envelopes over HTTP with the standard library, for when sentry-sdk is not installed.

A bounded queue (the oldest item is dropped and counted when full), one daemon thread that sends
(the bot's own threads and event loop never wait for Botpulse), batching of non-event items,
gzip for larger bodies, retries with exponential backoff and jitter on network errors and 5xx,
429/Retry-After honoured, and Sentry client reports of what was dropped.
"""
import collections
import gzip
import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from .version import SDK_NAME, SDK_VERSION

CATEGORY_OF_TYPE = {"event": "error", "transaction": "transaction", "check_in": "monitor", "log": "log_item",
                    "attachment": "attachment", "span": "span", "client_report": "internal"}


class Dsn(object):
    """`http://<public key>@host[:port][/path]/<project id>`."""

    def __init__(self, dsn):
        parts = urllib.parse.urlsplit(dsn)
        if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname:
            raise ValueError("invalid DSN: expected http(s)://<key>@<host>/<project id>")
        path, _, project = parts.path.rstrip("/").rpartition("/")
        if not project:
            raise ValueError("invalid DSN: no project id")
        self.public_key = parts.username
        self.project_id = project
        netloc = parts.hostname + (":%d" % parts.port if parts.port else "")
        self.envelope_url = "%s://%s%s/api/%s/envelope/" % (parts.scheme, netloc, path, project)
        self.raw = dsn

    def auth_header(self):
        return "Sentry sentry_version=7, sentry_key=%s, sentry_client=%s/%s" % (self.public_key, SDK_NAME, SDK_VERSION)


def iso_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def serialize_envelope(dsn, items, event_id=None):
    """Envelope bytes: a header line, then per item a header line and its payload."""
    header = {"sent_at": iso_now(), "dsn": dsn.raw, "sdk": {"name": SDK_NAME, "version": SDK_VERSION}}
    if event_id:
        header["event_id"] = event_id
    lines = [json.dumps(header).encode()]
    for item in items:
        item_header = dict(item.get("headers") or {})
        item_header["type"] = item["type"]
        item_header["length"] = len(item["payload"])
        lines.append(json.dumps(item_header).encode())
        lines.append(item["payload"])
    return b"\n".join(lines) + b"\n"


class HttpTransport(object):
    def __init__(self, dsn, max_queue_items=1000, max_batch_items=50, max_retries=5, retry_base=1.0,
                 retry_max=60.0, timeout=10.0, gzip_threshold=4096, on_discard=None):
        self.dsn = Dsn(dsn)
        self.max_queue_items = max_queue_items
        self.max_batch_items = max_batch_items
        self.max_retries = max_retries
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.timeout = timeout
        self.gzip_threshold = gzip_threshold
        self.on_discard = on_discard or (lambda reason, category, quantity: None)
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._rate_limited_until = 0.0
        self.stats = {"sent_envelopes": 0, "sent_items": 0, "retries": 0, "dropped": collections.Counter()}
        self._thread = threading.Thread(target=self._run, name="botpulse-transport", daemon=True)
        self._thread.start()

    def send(self, item_type, payload, headers=None, event_id=None):
        """Queues one item; never blocks. When the queue is full the oldest item is dropped."""
        item = {"type": item_type, "payload": payload, "headers": headers, "event_id": event_id, "attempts": 0}
        with self._cond:
            if self._closed:
                self._drop(item, "send_error", "closed")
                return
            if len(self._queue) >= self.max_queue_items:
                self._drop(self._queue.popleft(), "queue_overflow", "queue_overflow")
            self._queue.append(item)
            self._cond.notify_all()

    def _drop(self, item, reason, counter):
        self.stats["dropped"][counter] += 1
        self.on_discard(reason, CATEGORY_OF_TYPE.get(item["type"], "default"), 1)

    def flush(self, timeout=2.0):
        """True once everything queued so far is delivered (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout=2.0):
        flushed = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return flushed

    def _next_batch(self):
        """One event alone (its id goes into the envelope header), or up to max_batch_items others."""
        first = self._queue.popleft()
        batch = [first]
        if first["type"] == "event":
            return batch
        while self._queue and len(batch) < self.max_batch_items and self._queue[0]["type"] != "event":
            batch.append(self._queue.popleft())
        return batch

    def _run(self):
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._queue and self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    return
                batch = self._next_batch()
                self._busy = True
            try:
                self._deliver(batch)
            except Exception:  # the sender thread must outlive anything
                for item in batch:
                    self._drop(item, "internal_sdk_error", "send_error")

    def _deliver(self, batch):
        while True:
            wait = self._rate_limited_until - time.time()
            if wait > 0:
                time.sleep(min(wait, self.retry_max))
            status, retry_after = self._post(batch)
            if status is not None and 200 <= status < 300:
                self.stats["sent_envelopes"] += 1
                self.stats["sent_items"] += len(batch)
                return
            if status is not None and 400 <= status < 500 and status != 429:
                for item in batch:
                    self._drop(item, "send_error", "rejected")
                return
            attempts = batch[0]["attempts"] = batch[0]["attempts"] + 1
            if attempts > self.max_retries:
                reason = "ratelimit_backoff" if status == 429 else ("network_error" if status is None else "send_error")
                for item in batch:
                    self._drop(item, reason, "send_error")
                return
            self.stats["retries"] += 1
            if status == 429:
                self._rate_limited_until = time.time() + (retry_after if retry_after is not None else 60.0)
            else:
                delay = min(self.retry_max, self.retry_base * (2 ** (attempts - 1)))
                time.sleep(delay * random.uniform(0.5, 1.5))

    def _post(self, batch):
        event_id = batch[0]["event_id"] if batch[0]["type"] == "event" else None
        body = serialize_envelope(self.dsn, batch, event_id)
        headers = {"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": self.dsn.auth_header(),
                   "User-Agent": "%s/%s" % (SDK_NAME, SDK_VERSION)}
        if len(body) > self.gzip_threshold:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(self.dsn.envelope_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as error:
            retry_after = None
            try:
                retry_after = float(error.headers.get("Retry-After"))
            except (TypeError, ValueError):
                pass
            return error.code, retry_after
        except Exception:
            return None, None
