"""Shared by the test scripts: hide sentry-sdk when asked (BOTPULSE_TEST_HIDE_SENTRY=1), print JSON lines."""
import json
import os
import sys

if os.environ.get("BOTPULSE_TEST_HIDE_SENTRY") == "1":
    sys.modules["sentry_sdk"] = None  # `import sentry_sdk` raises ImportError, as if not installed


def exit_with_parent():
    """Ends this process when the test that started it is gone (a cancelled test runs no cleanup)."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


exit_with_parent()


def say(**fields):
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()
