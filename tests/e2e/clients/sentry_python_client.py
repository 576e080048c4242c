"""A bot-like program reporting through Debian's real sentry-python (run with /usr/bin/python3).

Usage: python3 sentry_python_client.py <dsn>  -> prints {"scenario": "event id"} as JSON.
"""
import json
import os
import sys

import sentry_sdk
from sentry_sdk.utils import event_from_exception

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pybot_handlers  # noqa: E402


def as_sentry_python_2(event, hint):
    """sentry-python 2 marks a frame in-app only under its project root (the working directory)
    and site-/dist-packages frames not in-app; other frames get no `in_app` at all. Debian ships
    1.9, which marks every frame in-app when none matched its lists, so events tagged
    `in_app_rule: sdk2` are given 2.x's marking for a bot started outside its own directory (a
    systemd unit with WorkingDirectory=/srv/data, say): no frame is in-app."""
    if event.get("tags", {}).get("in_app_rule") == "sdk2":
        for exception in event.get("exception", {}).get("values", []):
            for frame in exception.get("stacktrace", {}).get("frames", []):
                path = frame.get("abs_path") or ""
                if "site-packages" in path or "dist-packages" in path:
                    frame["in_app"] = False
                else:
                    frame.pop("in_app", None)
    return event


sentry_sdk.init(dsn=sys.argv[1], release="pybot@2.1.0", environment="staging", traces_sample_rate=0, before_send=as_sentry_python_2)

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

with sentry_sdk.push_scope() as scope:
    scope.set_tag("in_app_rule", "sdk2")
    try:
        pybot_handlers.handle_update({"text": "{oops"})
    except ValueError:
        ids["no-in-app"] = sentry_sdk.capture_exception()
    try:
        pybot_handlers.handle_update({"text": "[1,"})
    except ValueError:
        # An exception as a hand-rolled integration might send it: frames, but neither type nor value.
        event, hint = event_from_exception(sys.exc_info())
        for exception in event["exception"]["values"]:
            exception.pop("type", None)
            exception.pop("value", None)
        ids["nameless"] = sentry_sdk.capture_event(event, hint=hint)

sentry_sdk.flush(10)
print(json.dumps(ids))
