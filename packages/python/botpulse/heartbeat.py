"""Health of the polling loop, seen from inside it (packages/sdk/src/heartbeat.ts).

The PTB integration reports every getUpdates call to a PollingMonitor; the Heartbeat reads it
every 20 s (seed 001) and sends a Sentry `check_in`: "ok" while getUpdates keeps succeeding,
"error" when it fails or hangs. A process that dies sends nothing: the server notices the silence.
"""
import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

from .lock import iso_ms

DEFAULT_INTERVAL = 20.0
DEFAULT_DOWN_AFTER_MINUTES = 5
HANG_GRACE = 5.0


def _iso(ts):
    return None if ts is None else iso_ms(datetime.fromtimestamp(ts, timezone.utc))


class PollingMonitor(object):
    """What is known about the getUpdates loop. Times are seconds since the epoch."""

    def __init__(self, client=None):
        self._client = client
        self.last_success_at = None
        self.last_updates_at = None
        self.in_flight_since = None
        self.poll_timeout = None
        self.consecutive_failures = 0
        self.last_error = None
        self.empty_polls_in_a_row = 0
        self.conflicts = 0
        self._lock = threading.Lock()

    def started(self, timeout=None):
        """A getUpdates call began (with its long-poll `timeout` in seconds)."""
        with self._lock:
            self.in_flight_since = time.time()
            if isinstance(timeout, (int, float)):
                self.poll_timeout = timeout

    def succeeded(self, count):
        """getUpdates answered with `count` updates."""
        with self._lock:
            now = time.time()
            self.in_flight_since = None
            self.last_success_at = now
            self.consecutive_failures = 0
            if count > 0:
                self.last_updates_at = now
                self.empty_polls_in_a_row = 0
            else:
                self.empty_polls_in_a_row += 1

    def failed(self, description, code=None):
        """getUpdates failed (an error answer, or none)."""
        with self._lock:
            now = time.time()
            self.in_flight_since = None
            self.consecutive_failures += 1
            self.last_error = {"at": now, "description": description}
            if code is not None:
                self.last_error["code"] = code
            if code == 409:
                self.conflicts += 1


def heartbeat_monitor_config(interval, down_after_minutes):
    """Sentry `monitor_config`: a check-in every slot (whole minutes), margin = the rest of down_after_minutes."""
    slot = max(1, -(-int(interval * 1000) // 60000))
    return {"schedule": {"type": "interval", "value": slot, "unit": "minute"}, "checkin_margin": down_after_minutes - slot}


class Heartbeat(object):
    """
    heartbeat = Heartbeat(monitor, monitor_slug="support-bot").start()
    """

    def __init__(self, monitor, monitor_slug, client=None, interval=DEFAULT_INTERVAL, down_after_minutes=None,
                 max_silence=None, redis=None, redis_key="bot_polling_heartbeat", monitor_config=None, on_beat=None):
        self.monitor = monitor
        self.monitor_slug = monitor_slug
        self._client = client
        self.interval = float(interval)
        slot = max(1, -(-int(self.interval * 1000) // 60000))
        self.down_after_minutes = down_after_minutes or max(DEFAULT_DOWN_AFTER_MINUTES, 2 * slot)
        if int(self.down_after_minutes) != self.down_after_minutes or self.down_after_minutes <= slot:
            raise ValueError("heartbeat: down_after_minutes must be a whole number of minutes above %d" % slot)
        self.max_silence = max_silence
        self.redis = redis
        self.redis_key = redis_key
        self.monitor_config = monitor_config
        self.on_beat = on_beat
        self.started_at = time.time()
        self.last = None
        self._stop = threading.Event()
        self._thread = None

    @property
    def client(self):
        if self._client is None:
            from . import get_client
            self._client = get_client()
        return self._client

    def start(self):
        if self._thread is not None:
            return self
        self._stop = threading.Event()

        def loop(stop):
            while not stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:  # a failed beat must not stop the next ones
                    import logging
                    logging.getLogger("botpulse").warning("botpulse: a heartbeat failed; the next one runs on time", exc_info=True)

        self._thread = threading.Thread(target=loop, args=(self._stop,), name="botpulse-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread = None

    def finish(self, status, reason, timeout=2.0):
        """The polling loop ended: a final check-in now (`paused` on purpose, `error` on an error)."""
        self.stop()
        check_in = self.check_in(status, reason)
        check_in["contexts"]["polling"]["stopped"] = True
        self._send(check_in)
        self.client.flush(timeout)

    def beat(self):
        """One beat now: decides the status, sends the check-in (None while the loop is starting)."""
        verdict = self.assess()
        if verdict is None:
            return None
        status, reason = verdict
        check_in = self.check_in(status, reason)
        if status == "ok":
            self._write_redis()
        self._send(check_in)
        return check_in

    def _send(self, check_in):
        self.last = check_in
        self.client.send_item("check_in", check_in)
        if self.on_beat is not None:
            self.on_beat(check_in)

    def assess(self):
        m = self.monitor
        now = time.time()
        in_flight = None if m.in_flight_since is None else now - m.in_flight_since
        hang_after = (m.poll_timeout if m.poll_timeout is not None else 30) + HANG_GRACE
        if in_flight is not None and in_flight > hang_after:
            return "error", "getUpdates has been hanging for %d s" % round(in_flight)
        since = m.last_success_at if m.last_success_at is not None else self.started_at
        max_silence = self.max_silence
        if max_silence is None:
            max_silence = (m.poll_timeout if m.poll_timeout is not None else 30) + self.interval + 10
        if in_flight is None and now - since > max_silence:
            error = ""
            if m.last_error:
                error = ("; last error: %s %s" % (m.last_error.get("code", ""), m.last_error["description"])).rstrip()
            return "error", "no successful getUpdates for %d s%s" % (round(now - since), error)
        if m.last_success_at is None:
            return None
        return "ok", None

    def check_in(self, status, reason):
        m = self.monitor
        polling = {
            "last_get_updates_ok_at": _iso(m.last_success_at),
            "last_updates_at": _iso(m.last_updates_at),
            "consecutive_failures": m.consecutive_failures,
            "conflicts": m.conflicts,
            "interval_seconds": self.interval,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        if reason:
            polling["reason"] = reason
        if m.last_error:
            polling["last_error"] = dict(m.last_error, at=_iso(m.last_error["at"]))
        settings = self.client.settings
        check_in = {"check_in_id": uuid.uuid4().hex, "monitor_slug": self.monitor_slug, "status": status,
                    "environment": settings.environment, "contexts": {"polling": polling}}
        if settings.release:
            check_in["release"] = settings.release
        if self.monitor_config is not False:
            check_in["monitor_config"] = self.monitor_config or heartbeat_monitor_config(self.interval, self.down_after_minutes)
        return check_in

    def _write_redis(self):
        if self.redis is None:
            return
        value = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "env": self.client.settings.environment,
                            "ts": iso_ms()}, separators=(",", ":"))
        try:
            self.redis.set(self.redis_key, value, px=int(self.interval * 3000))
        except Exception:
            import logging
            logging.getLogger("botpulse").warning("botpulse: writing the Redis heartbeat key failed", exc_info=True)
