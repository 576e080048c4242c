"""Bot tokens and other secrets never leave the process.

Mirrors packages/sdk/src/scrub.ts: every event, breadcrumb, check-in and log line goes through
here before it is queued. The server scrubs again (defence in depth).
"""
import re
import threading

#: A Telegram bot token anywhere in a string, also with the colon percent-encoded once or twice.
BOT_TOKEN_PATTERN = re.compile(r"\d{3,20}(?::|%(?:25)*3[Aa])[A-Za-z0-9_-]{30,}")
# `/bot<id>:<anything>` in a Bot API URL, even when the secret part is short or unusual.
_BOT_URL_PATTERN = re.compile(r"/bot\d+:[^/?#\s\"'\\]*")
_ENCODED_BOT_URL_PATTERN = re.compile(r"/bot\d+%(?:25)*3[Aa][A-Za-z0-9_-]*")
# Key and signature query parameters, which a key-name rule cannot take (`key` would hide `monkey`).
_SECRET_QUERY_PARAMETER_PATTERN = re.compile(r"(^|[?&;\"])(key|pwd|pass|sig|signature)=(?!\[)[^&#\s\"'<>\\]+", re.I)
# OpenAI, Anthropic and Stripe keys in free text.
_PREFIXED_API_KEY_PATTERN = re.compile(r"\bsk-(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")
_SECRET_KEY_PATTERN = re.compile(r"(token|password|passwd|secret|authorization|cookie|api[-_]?key|private[-_]?key|credential|session[-_]?id|dsn)", re.I)
# Keys that look secret but are harmless ids/counters we want to keep.
_SAFE_KEYS = frozenset(["update_id", "duplicate_update", "token_source", "check_in_id", "secret_token_set"])

FILTERED = "[Filtered]"
REDACTED_TOKEN = "[bot-token]"

_known_secrets = set()
_lock = threading.Lock()


def register_secret(secret):
    """Removes `secret` (e.g. the bot token) verbatim from everything sent, even when it does not look like a token."""
    if isinstance(secret, str) and len(secret) >= 8:
        with _lock:
            _known_secrets.add(secret)


def scrub_string(text):
    """Replaces bot tokens, registered secrets, key query parameters and API keys in a string."""
    out = text
    for secret in tuple(_known_secrets):
        if secret in out:
            out = out.replace(secret, REDACTED_TOKEN)
    if ":" in out or "%" in out:
        out = _BOT_URL_PATTERN.sub("/bot" + REDACTED_TOKEN, out)
        out = _ENCODED_BOT_URL_PATTERN.sub("/bot" + REDACTED_TOKEN, out)
        out = BOT_TOKEN_PATTERN.sub(REDACTED_TOKEN, out)
    if "=" in out:
        out = _SECRET_QUERY_PARAMETER_PATTERN.sub(lambda m: "%s%s=%s" % (m.group(1), m.group(2), FILTERED), out)
    if "k-" in out or "k_" in out:
        out = _PREFIXED_API_KEY_PATTERN.sub(FILTERED, out)
    return out


def is_secret_key(key):
    """True when a key names a secret (`token`, `password`, `authorization`, ...)."""
    return isinstance(key, str) and key not in _SAFE_KEYS and _SECRET_KEY_PATTERN.search(key) is not None


def scrub_value(value, max_depth=12, max_string=None):
    """A copy of `value` that JSON can hold: tokens removed from every string, secret-named keys filtered."""
    return _walk(value, max_depth, set(), max_string)


def _walk(value, depth, seen, max_string):
    if isinstance(value, str):
        clean = scrub_string(value)
        return clean[:max_string] + "\u2026" if max_string is not None and len(clean) > max_string else clean
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, bytes):
        return _walk(value.decode("utf-8", "replace"), depth, seen, max_string)
    if id(value) in seen:
        return "[Circular]"
    if depth <= 0:
        return "[MaxDepth]"
    if isinstance(value, dict):
        seen.add(id(value))
        try:
            out = {}
            for key, item in value.items():
                key = str(getattr(key, "value", key))
                if is_secret_key(key) and item is not None and not isinstance(item, (dict, list, tuple, bool)):
                    out[key] = FILTERED
                else:
                    out[key] = _walk(item, depth - 1, seen, max_string)
            return out
        finally:
            seen.discard(id(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        seen.add(id(value))
        try:
            return [_walk(item, depth - 1, seen, max_string) for item in value]
        finally:
            seen.discard(id(value))
    # Enums (Django TextChoices), dates, model instances: their text.
    inner = getattr(value, "value", None)
    if isinstance(inner, (str, int, float)):
        return _walk(inner, depth, seen, max_string)
    try:
        return _walk(str(value), depth, seen, max_string)
    except Exception:  # a __str__ that fails is not the bot's error to lose
        return "<unprintable %s>" % type(value).__name__
