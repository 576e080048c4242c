"""Debian's real sentry-python dropping events itself (before_send returns None, and sample_rate),
so that its client report tells Botpulse. Usage: python3 sentry-python-discards.py <dsn>"""
import sys

import sentry_sdk


def before_send(event, hint):
    return None if event.get("tags", {}).get("drop") == "yes" else event


sentry_sdk.init(dsn=sys.argv[1], release="pybot@2.1.0", before_send=before_send, traces_sample_rate=0)
for i in range(3):
    with sentry_sdk.push_scope() as scope:
        scope.set_tag("drop", "yes")
        sentry_sdk.capture_message(f"dropped by before_send {i}")
sentry_sdk.capture_message("kept")
sentry_sdk.flush(10)  # also sends the pending client report
print("done")
