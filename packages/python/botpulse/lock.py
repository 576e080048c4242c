"""Seed 001's single-poller lock in Redis, interoperable with packages/sdk/src/lock.ts.

Telegram allows one getUpdates consumer per token; a second makes both fail with 409 Conflict.
The key (default `bot_polling_lock`) holds JSON {host, pid, env, ts}; it is taken with SET NX PX
before polling, refreshed by its holder only (a Lua compare-and-set), released on shutdown
(compare-and-delete), and taken over by another process only after the TTL lapsed. The same key,
value shape, scripts and defaults as the Node SDK, so a Python and a Node process of one bot
exclude each other. Works with a redis-py client (`redis.Redis`).
"""
import json
import os
import socket
import threading
import time
from datetime import datetime, timezone

DEFAULT_KEY = "bot_polling_lock"
REFRESH_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"


def iso_ms(dt=None):
    """JavaScript's toISOString(): 2025-11-19T06:15:00.123Z."""
    dt = dt or datetime.now(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def describe_holder(holder):
    """`held by host X pid Y (env, since ts)`, as the Node SDK says it."""
    if not holder:
        return "held by an unknown process"
    return "held by host %s pid %s (%s, since %s)" % (holder.get("host"), holder.get("pid"), holder.get("env"), holder.get("ts"))


def parse_holder(raw):
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        holder = json.loads(raw)
    except ValueError:
        return None
    return holder if isinstance(holder, dict) else None


class LockHeldError(Exception):
    """The lock is held by another process (and waiting was not asked for). The message names the holder."""

    def __init__(self, holder, key):
        Exception.__init__(self, 'polling lock "%s" is %s' % (key, describe_holder(holder)))
        self.holder = holder


class PollingLock(object):
    """
    lock = PollingLock(redis.Redis())
    lock.acquire(wait=True)
    lock.start_refreshing(on_lost=stop_polling)
    ...
    lock.release()
    """

    def __init__(self, redis, key=DEFAULT_KEY, ttl_ms=60000, poll_timeout_sec=30, refresh_interval_ms=None, env=None):
        if not ttl_ms > poll_timeout_sec * 1000:
            raise ValueError(
                "polling lock ttl (%s ms) must exceed the getUpdates timeout (%s s): otherwise a holder in the middle "
                "of a long poll could lose the lock to a second poller" % (ttl_ms, poll_timeout_sec))
        self.redis = redis
        self.key = key
        self.ttl_ms = int(ttl_ms)
        self.refresh_interval_ms = refresh_interval_ms or min(20000, self.ttl_ms // 3)
        self.identity = {
            "host": socket.gethostname(), "pid": os.getpid(),
            "env": env or os.environ.get("ENVIRONMENT") or os.environ.get("NODE_ENV") or "development",
            "ts": iso_ms(),
        }
        # Compact separators: the same bytes JSON.stringify makes of it.
        self.value = json.dumps(self.identity, separators=(",", ":"))
        self.held = False
        self._stop = threading.Event()
        self._thread = None

    def try_acquire(self):
        """Tries once; returns whether this process holds the lock now."""
        self.held = bool(self.redis.set(self.key, self.value, px=self.ttl_ms, nx=True))
        return self.held

    def holder(self):
        """The current holder (None when free or unreadable)."""
        return parse_holder(self.redis.get(self.key))

    def acquire(self, wait=False, poll_interval=1.0, on_waiting=None, should_stop=None):
        """Takes the lock. Without `wait`, raises LockHeldError naming the holder; with it, polls until free,
        calling `on_waiting(holder, message)` whenever the holder changes."""
        last_seen = ""
        while True:
            if self.try_acquire():
                return
            raw = self.redis.get(self.key)
            if raw is None:
                continue  # expired between the SET and the GET: free, try again at once
            holder = parse_holder(raw)
            if not wait:
                raise LockHeldError(holder, self.key)
            seen = json.dumps(holder, sort_keys=True) if holder else None
            if seen != last_seen:
                last_seen = seen
                if on_waiting is not None:
                    on_waiting(holder, 'waiting for polling lock "%s": %s' % (self.key, describe_holder(holder)))
            if should_stop is not None and should_stop():
                raise RuntimeError("stopped waiting for the polling lock")
            time.sleep(poll_interval)

    def refresh(self):
        """Extends the TTL if this process still holds the lock; False means it was lost."""
        self.held = int(self.redis.eval(REFRESH_SCRIPT, 1, self.key, self.value, self.ttl_ms)) == 1
        return self.held

    def start_refreshing(self, on_lost=None, on_error=None):
        """Refreshes every refresh interval from a daemon thread; `on_lost()` runs once if the lock is gone."""
        self.stop_refreshing()
        self._stop = threading.Event()

        def loop(stop):
            while not stop.wait(self.refresh_interval_ms / 1000.0):
                try:
                    ok = self.refresh()
                except Exception as error:  # a Redis hiccup is not a lost lock: the next refresh may succeed
                    if on_error is not None:
                        on_error(error)
                    continue
                if not ok:
                    if on_lost is not None:
                        on_lost()
                    return

        self._thread = threading.Thread(target=loop, args=(self._stop,), name="botpulse-lock-refresh", daemon=True)
        self._thread.start()

    def stop_refreshing(self):
        self._stop.set()

    def release(self):
        """Deletes the key if this process holds it; returns whether it did."""
        self.stop_refreshing()
        released = int(self.redis.eval(RELEASE_SCRIPT, 1, self.key, self.value)) == 1
        self.held = False
        return released
