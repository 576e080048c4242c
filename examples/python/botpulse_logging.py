"""Ship Python `logging` records to Botpulse's logs endpoint. Standard library only.

    import logging
    from botpulse_logging import BotpulseHandler

    logging.getLogger().addHandler(BotpulseHandler())      # DSN from BOTPULSE_DSN
    log = logging.getLogger("bot.payments")
    log.info("User balance checked", extra={"user_id": 42, "operation": "check_balance", "duration_ms": 45})

Records are queued (bounded) and posted by a background thread as NDJSON to
`POST /api/<project>/logs/`, in batches (by count and time), gzip-compressed. Network errors,
429 and 5xx are retried with exponential backoff (honouring Retry-After); a 400/401/403/413 is
permanent for that batch: it is reported on stderr and dropped, never retried. Each line carries a
`botpulse.line_id`, so a batch sent again after a lost answer is recognised by the server.
`logging.shutdown()` (run at interpreter exit) flushes what is queued, waiting at most
`flush_timeout` seconds. Fields given with `extra=` (seed 002's user_id, update_id, operation,
duration_ms, error_type, and any others) become fields of the line.
See docs/logs-tail.md.
"""

import gzip
import json
import logging
import os
import queue
import random
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

__all__ = ["BotpulseHandler"]
__version__ = "0.1.0"

# LogRecord attributes that are not `extra=` fields.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_PERMANENT = {400, 401, 403, 413}


def _logs_url_and_key(dsn):
    parts = urllib.parse.urlsplit(dsn.strip())
    if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname:
        raise ValueError("DSN must look like http(s)://<key>@<host>/<project>")
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise ValueError("DSN has no project id")
    project = segments.pop()
    prefix = "/" + "/".join(segments) if segments else ""
    netloc = parts.hostname + (":%d" % parts.port if parts.port else "")
    return "%s://%s%s/api/%s/logs/" % (parts.scheme, netloc, prefix, project), urllib.parse.unquote(parts.username)


class BotpulseHandler(logging.Handler):
    def __init__(self, dsn=None, level=logging.NOTSET, batch_size=200, flush_interval=1.0,
                 max_queue=10000, flush_timeout=10.0, max_backoff=30.0, timeout=10.0):
        super().__init__(level)
        dsn = dsn or os.environ.get("BOTPULSE_DSN")
        if not dsn:
            raise ValueError("no DSN: pass dsn= or set BOTPULSE_DSN")
        self.url, self._key = _logs_url_and_key(dsn)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.flush_timeout = flush_timeout
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.sent = 0
        self.dropped = 0
        self._queue = queue.Queue(maxsize=max_queue)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="botpulse-logs", daemon=True)
        self._thread.start()

    # -- the logging side (any thread): format and enqueue, never block -------------------------

    def emit(self, record):
        try:
            line = self._line(record)
        except Exception:
            self.handleError(record)
            return
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1  # the bot must never block on its logs; counted, reported at close

    def _line(self, record):
        message = record.getMessage()
        line = {
            "time": int(record.created * 1000),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["message"] = message + "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            line.setdefault("error_type", record.exc_info[0].__name__)
        line["botpulse.line_id"] = uuid.uuid4().hex
        return json.dumps(line, default=str, ensure_ascii=False)

    # -- the sending side (the background thread) -----------------------------------------------

    def _run(self):
        while True:
            batch = self._take_batch()
            if batch:
                self._deliver(batch)
            elif self._closing.is_set():
                return

    def _take_batch(self):
        batch = []
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            if self._closing.is_set():
                remaining = 0
            try:
                batch.append(self._queue.get(timeout=max(remaining, 0)) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _deliver(self, batch):
        body = gzip.compress(("\n".join(batch) + "\n").encode("utf-8"))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
            "X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7, sentry_client=botpulse-python-logging/%s" % (self._key, __version__),
        })
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read() or b"{}")
                rejected = answer.get("rejected") or []
                self.sent += len(batch) - len(rejected)
                self.dropped += len(rejected)
                if rejected:
                    self._warn("the server rejected %d line(s): %s" % (len(rejected), rejected[0].get("reason")))
                return
            except urllib.error.HTTPError as err:
                if err.code in _PERMANENT:
                    self.dropped += len(batch)
                    self._warn("the server refused a batch of %d line(s) with %d: %s; dropped" % (len(batch), err.code, _reason(err)))
                    return
                retry_after = _retry_after(err.headers.get("Retry-After"))
                reason = "%d" % err.code
            except (urllib.error.URLError, OSError, ValueError) as err:
                reason = str(getattr(err, "reason", err))
            if self._closing.is_set() and time.monotonic() > self._give_up_at:
                self.dropped += len(batch)
                self._warn("could not send %d line(s) before exit (%s); dropped" % (len(batch), reason))
                return
            backoff = min(self.max_backoff, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
            self._sleep(retry_after if retry_after is not None else backoff)

    def _sleep(self, seconds):
        if self._closing.is_set():
            time.sleep(min(seconds, max(0.0, self._give_up_at - time.monotonic())))
        else:
            self._closing.wait(seconds)  # close() cuts a long backoff short

    def _warn(self, text):
        # Straight to stderr: logging it would feed this very handler.
        sys.stderr.write("botpulse logging: %s\n" % text)

    # -- shutdown ---------------------------------------------------------------------------------

    def flush(self):
        """Waits (at most flush_timeout) until the sender has taken everything queued."""
        deadline = time.monotonic() + self.flush_timeout
        while not self._queue.empty() and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)

    def close(self):
        if not self._closing.is_set():
            self._give_up_at = time.monotonic() + self.flush_timeout
            self._closing.set()
            self._thread.join(self.flush_timeout + self.timeout)
            left = self._queue.qsize()
            if left or self.dropped:
                self._warn("closing: %d line(s) sent, %d dropped, %d left unsent" % (self.sent, self.dropped, left))
        super().close()

    _give_up_at = float("inf")


def _reason(err):
    try:
        return err.read().decode("utf-8", "replace")[:300]
    except Exception:
        return err.reason


def _retry_after(value):
    try:
        return max(0.0, min(float(value), 300.0))
    except (TypeError, ValueError):
        return None
