"""Without sentry-sdk: an event the server refuses is dropped, counted, logged, and reported to the
server in a Sentry client report. Env: BOTPULSE_DSN (a stand-in that answers 400 to events)."""
import io
import logging

import _common
from _common import say

import botpulse  # noqa: E402

stream = io.StringIO()
logging.getLogger("botpulse").addHandler(logging.StreamHandler(stream))
client = botpulse.init(use_sentry_sdk=False)
try:
    raise ValueError("refused by the server")
except ValueError as exc:
    botpulse.capture_exception(exc)
botpulse.flush(5)   # the event is sent and refused
botpulse.flush(5)   # the client report of it goes out
say(event="done", counters=client.counters(), logged=stream.getvalue())
