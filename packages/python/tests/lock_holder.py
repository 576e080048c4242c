"""Takes the polling lock in Redis (botpulse.PollingLock) and holds it until SIGTERM.

argv: redisUrl key ttlMs. Prints {"event":"acquired"} or, when another process holds the lock,
{"event":"held","message":...} and exits 1. On SIGTERM releases and prints {"event":"released"}.
"""
import signal
import sys
import threading

import _common
from _common import say

import redis  # noqa: E402
from botpulse import LockHeldError, PollingLock  # noqa: E402

redis_url, key, ttl = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = PollingLock(redis.Redis.from_url(redis_url), key=key, ttl_ms=ttl, poll_timeout_sec=1)
try:
    lock.acquire(wait=False)
except LockHeldError as error:
    say(event="held", message=str(error))
    sys.exit(1)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock.start_refreshing(on_lost=lambda: say(event="lost"))
say(event="acquired", value=lock.value)
stop.wait()
say(event="released", released=lock.release())
