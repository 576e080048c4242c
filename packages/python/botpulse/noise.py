"""Expected Telegram errors (seed 003's list) are the weather, not bugs: counters and breadcrumbs.

As in packages/sdk/src/noise.ts, noise is recognised by where an error comes from: only an error
class of a Telegram library (python-telegram-bot's `telegram.error`, aiogram's exceptions) can be
noise. An application's own `Exception("chat not found")` is an issue whatever it says. Within
those classes, the class decides first (RetryAfter, TimedOut, NetworkError), then Telegram's
description, matched lowercased and loosely.
"""
import re

TELEGRAM_LIBRARIES = ("telegram", "aiogram")

DEFAULT_NOISE_KINDS = (
    "rate_limited", "network", "bot_blocked", "user_deactivated", "chat_not_found",
    "message_not_modified", "query_too_old", "polling_conflict",
)

_DESCRIPTION_RULES = (
    ("bot_blocked", re.compile(r"bot was blocked by the user|bot was kicked from|bot is not a member|can't initiate conversation|bots can't send messages to bots|group chat was deleted|chat was deleted")),
    ("user_deactivated", re.compile(r"user is deactivated")),
    ("chat_not_found", re.compile(r"chat not found|peer_id_invalid|user not found|group is deactivated")),
    ("message_not_modified", re.compile(r"message is not modified")),
    ("query_too_old", re.compile(r"query is too old|query id is invalid")),
    ("message_gone", re.compile(r"message to edit not found|message to delete not found|message can't be deleted|message to reply not found")),
    ("not_enough_rights", re.compile(r"not enough rights")),
)

# Class names (any in the MRO) of both libraries, python-telegram-bot 13/20+ and aiogram 2/3.
_RATE_LIMITED = {"RetryAfter", "TelegramRetryAfter"}
_CONFLICT = {"Conflict", "TelegramConflictError"}
_BROKEN_BOT = {"InvalidToken", "TelegramUnauthorizedError", "TelegramNotFound", "ChatMigrated", "TelegramMigrateToChat"}
_CLIENT_ERRORS = {"BadRequest", "TelegramBadRequest", "Forbidden", "Unauthorized", "TelegramForbiddenError", "TelegramAPIError"}
_NETWORK = {"TimedOut", "NetworkError", "TelegramNetworkError", "TelegramServerError", "RestartingTelegram", "ServerError"}


def is_telegram_error(exc):
    """True for an exception class defined by python-telegram-bot or aiogram."""
    return type(exc).__module__.split(".")[0] in TELEGRAM_LIBRARIES


def classify_error(exc):
    """The noise kind of an exception, or None when it must be reported."""
    if exc is None or not is_telegram_error(exc):
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    description = _description(exc).lower()
    if names & _RATE_LIMITED:
        return "rate_limited"
    if names & _CONFLICT:
        return "polling_conflict" if "terminated by other getupdates request" in description else None
    if names & _BROKEN_BOT:
        return None
    for kind, pattern in _DESCRIPTION_RULES:
        if pattern.search(description):
            return kind
    # python-telegram-bot 13's BadRequest is a NetworkError subclass: a bad request is the bot's bug.
    if names & _CLIENT_ERRORS:
        return None
    if names & _NETWORK:
        return "network"
    return None


def _description(exc):
    for attr in ("message", "description"):
        value = getattr(exc, attr, None)
        if isinstance(value, str) and value:
            return value
    try:
        return str(exc)
    except Exception:
        return ""


class NoiseFilter(object):
    """Decides noise per the options: `kinds` (default DEFAULT_NOISE_KINDS; () reports everything),
    `patterns` (your own expected errors by your own words, kind "custom"), `is_noise(exc, kind)`
    (the final say: True, False or None to keep the built-in decision)."""

    def __init__(self, kinds=None, patterns=(), is_noise=None):
        self.kinds = frozenset(DEFAULT_NOISE_KINDS if kinds is None else kinds)
        self.patterns = tuple(patterns)
        self.is_noise = is_noise

    def classify(self, exc):
        built_in = classify_error(exc)
        kind = built_in if built_in in self.kinds else None
        if kind is None and self._matches_pattern(exc):
            kind = "custom"
        if self.is_noise is not None:
            verdict = self.is_noise(exc, built_in or kind)
            if verdict is True:
                return kind or built_in or "custom"
            if verdict is False:
                return None
        return kind

    def _matches_pattern(self, exc):
        if not self.patterns:
            return False
        message = _description(exc)
        lower = message.lower()
        for p in self.patterns:
            if isinstance(p, str):
                if p.lower() in lower:
                    return True
            elif p.search(message):
                return True
        return False
