"""Which bot token to use (seed 001), exactly as packages/sdk/src/token.ts.

TELEGRAM_BOT_TOKEN_OVERRIDE > TELEGRAM_BOT_TOKEN_PROD (only when ENVIRONMENT=production) >
TELEGRAM_BOT_TOKEN_DEV > legacy TELEGRAM_BOT_TOKEN. A process outside production must never poll
with the production token: it would steal the production bot's updates.
"""
import os

from .scrub import register_secret

SOURCES = ("TELEGRAM_BOT_TOKEN_OVERRIDE", "TELEGRAM_BOT_TOKEN_PROD", "TELEGRAM_BOT_TOKEN_DEV", "TELEGRAM_BOT_TOKEN")


class BotTokenError(Exception):
    """No usable token, or the production token outside production. Never contains a token."""


def select_bot_token(env=None):
    """Returns (token, source variable name). Raises BotTokenError."""
    env = os.environ if env is None else env

    def value(name):
        v = (env.get(name) or "").strip()
        return v or None

    environment = (env.get("ENVIRONMENT") or "development").strip().lower()
    production = environment == "production"
    prod = value("TELEGRAM_BOT_TOKEN_PROD")
    order = SOURCES if production else ("TELEGRAM_BOT_TOKEN_OVERRIDE", "TELEGRAM_BOT_TOKEN_DEV", "TELEGRAM_BOT_TOKEN")
    for source in order:
        token = value(source)
        if token is None:
            continue
        if not production and prod is not None and token == prod:
            raise BotTokenError(
                '%s holds the production bot token but ENVIRONMENT is "%s"; use a separate TELEGRAM_BOT_TOKEN_DEV outside production' % (source, environment)
            )
        register_secret(token)
        return token, source
    if prod is not None:
        raise BotTokenError(
            'only TELEGRAM_BOT_TOKEN_PROD is set and ENVIRONMENT is "%s"; the production token is used only when ENVIRONMENT=production. Set TELEGRAM_BOT_TOKEN_DEV' % environment
        )
    raise BotTokenError("no bot token: set TELEGRAM_BOT_TOKEN_DEV (or TELEGRAM_BOT_TOKEN_PROD with ENVIRONMENT=production, or TELEGRAM_BOT_TOKEN_OVERRIDE)")


def resolve_bot_token(env=None):
    """The bot token by the seed's rules (registered for scrubbing). Raises BotTokenError."""
    return select_bot_token(env)[0]
