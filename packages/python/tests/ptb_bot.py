"""A python-telegram-bot 13 bot polling the fake Telegram, instrumented with botpulse.

argv: apiRoot. Env: TELEGRAM_BOT_TOKEN_DEV, BOTPULSE_DSN, ENVIRONMENT.
/noise raises RetryAfter (Telegram noise), /boom raises an error whose message and locals hold
the token. Prints {"event": "ready"}, then {"event": "reported", "event_id", "counters", "sentry"}.
"""
import logging
import sys
import warnings

import _common
from _common import say

warnings.simplefilter("ignore")

import botpulse  # noqa: E402
from botpulse.integrations import ptb  # noqa: E402
from telegram.error import RetryAfter  # noqa: E402
from telegram.ext import CommandHandler, Updater  # noqa: E402

api_root = sys.argv[1]
client = botpulse.init()
token = botpulse.resolve_bot_token()
log = logging.getLogger("bot")
log.setLevel(logging.INFO)
log.addHandler(botpulse.BotpulseHandler())

updater = Updater(token=token, base_url=api_root + "/bot", use_context=True)


def noise(update, context):
    raise RetryAfter(5)


def boom(update, context):
    bot_token = context.bot.token  # a local sentry-sdk would attach to the frame
    log.info("calling the payment API for %s", bot_token, extra={"operation": "payment", "duration_ms": 12})
    raise RuntimeError("payment failed calling https://api.telegram.org/bot%s/sendInvoice (%s)" % (bot_token, bot_token))


def done(update, context):
    if isinstance(context.error, RuntimeError):
        botpulse.flush(5)
        say(event="reported", counters=client.counters(), sentry=client.uses_sentry_sdk)


updater.dispatcher.add_handler(CommandHandler("noise", noise))
updater.dispatcher.add_handler(CommandHandler("boom", boom))
monitor = ptb.instrument(updater, monitor_slug="ptb-bot", heartbeat_interval=0.5)
updater.dispatcher.add_error_handler(done)
updater.start_polling(timeout=1, poll_interval=0)
say(event="ready", sentry=client.uses_sentry_sdk)
updater.idle()
monitor.heartbeat.finish("paused", "stopped")
say(event="stopped")
