"""Seed 001's token selection, case by case: prints one JSON line per case."""
import _common
from _common import say

from botpulse import BotTokenError, select_bot_token  # noqa: E402

PROD, DEV, OVERRIDE, LEGACY = "111111:" + "P" * 35, "222222:" + "D" * 35, "333333:" + "O" * 35, "444444:" + "L" * 35
CASES = {
    "production uses PROD": {"ENVIRONMENT": "production", "TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_DEV": DEV},
    "OVERRIDE wins in production": {"ENVIRONMENT": "production", "TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_OVERRIDE": OVERRIDE},
    "development uses DEV, not PROD": {"ENVIRONMENT": "development", "TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_DEV": DEV},
    "no ENVIRONMENT is development": {"TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_DEV": DEV},
    "legacy last": {"ENVIRONMENT": "staging", "TELEGRAM_BOT_TOKEN": LEGACY},
    "only PROD outside production": {"ENVIRONMENT": "staging", "TELEGRAM_BOT_TOKEN_PROD": PROD},
    "PROD copied into DEV": {"ENVIRONMENT": "development", "TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_DEV": PROD},
    "PROD copied into OVERRIDE": {"ENVIRONMENT": "development", "TELEGRAM_BOT_TOKEN_PROD": PROD, "TELEGRAM_BOT_TOKEN_OVERRIDE": PROD},
    "nothing": {},
}
for name, env in CASES.items():
    try:
        token, source = select_bot_token(env)
        say(case=name, source=source)
    except BotTokenError as error:
        say(case=name, error=str(error), leaked=any(t.split(":")[1] in str(error) for t in (PROD, DEV, OVERRIDE, LEGACY)))
