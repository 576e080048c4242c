"""The bot's own handler module, beside sentry_python_client.py: the crash happens in the
standard library (json), called from here."""
import json


def handle_update(update):
    return json.loads(update["text"])  # JSONDecodeError, raised inside json.decoder
