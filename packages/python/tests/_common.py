"""Shared by the test scripts: hide sentry-sdk when asked (BOTPULSE_TEST_HIDE_SENTRY=1), print JSON lines."""
import json
import os
import sys

if os.environ.get("BOTPULSE_TEST_HIDE_SENTRY") == "1":
    sys.modules["sentry_sdk"] = None  # `import sentry_sdk` raises ImportError, as if not installed


def say(**fields):
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()
