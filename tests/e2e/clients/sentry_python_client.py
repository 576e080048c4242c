"""A bot-like program reporting through Debian's real sentry-python (run with /usr/bin/python3).

Usage: python3 sentry_python_client.py <dsn>  -> prints {"scenario": "event id"} as JSON.
"""
import json
import sys

import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], release="pybot@2.1.0", environment="staging", traces_sample_rate=0)

ids = {}


def handle_update(update):
    return update["message"]["text"].upper()  # KeyError when the update has no message


for name in ("same-1", "same-2"):
    try:
        handle_update({"update_id": 1})
    except KeyError:
        ids[name] = sentry_sdk.capture_exception()

with sentry_sdk.push_scope() as scope:
    scope.set_tag("origin", "handler")
    scope.set_context("telegram", {"update_id": 555, "chat_id": -1001234, "user_id": 42, "chat_type": "supergroup"})
    scope.set_user({"id": "42"})
    try:
        1 / 0
    except ZeroDivisionError:
        ids["zero"] = sentry_sdk.capture_exception()

sentry_sdk.flush(10)
print(json.dumps(ids))
