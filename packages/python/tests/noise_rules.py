"""The noise filter on python-telegram-bot 13's real error classes and on an application's own errors."""
import warnings

import _common
from _common import say

warnings.simplefilter("ignore")

from botpulse import classify_error  # noqa: E402
from telegram.error import BadRequest, ChatMigrated, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut, Unauthorized  # noqa: E402

CASES = {
    "RetryAfter": RetryAfter(5),
    "TimedOut": TimedOut(),
    "NetworkError": NetworkError("urllib3 HTTPError: connection reset"),
    "blocked": Unauthorized("Forbidden: bot was blocked by the user"),
    "deactivated": Unauthorized("Forbidden: user is deactivated"),
    "chat not found": BadRequest("Chat not found"),
    "not modified": BadRequest("Message is not modified: specified new message content and reply markup are exactly the same"),
    "query too old": BadRequest("Query is too old and response timeout expired or query id is invalid"),
    "other getUpdates": Conflict("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"),
    "webhook set": Conflict("Conflict: can't use getUpdates method while webhook is active"),
    "bad request": BadRequest("Wrong file identifier/http url specified"),
    "invalid token": InvalidToken(),
    "unauthorized": Unauthorized("Unauthorized"),
    "migrated": ChatMigrated(-100123),
    "own error saying chat not found": Exception("chat not found"),
    "own timeout": TimeoutError("Payment provider timeout"),
}
say(kinds={name: classify_error(exc) for name, exc in CASES.items()})
