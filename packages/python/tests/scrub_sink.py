"""Everything the package sends, with the bot token in every place a token turns up: an exception
message and frame locals, a breadcrumb, a Telegram API URL in a log line, extra data, a check-in.
The test's stand-in intake records the raw bodies: the token must be in none of them.

Env: TELEGRAM_BOT_TOKEN_DEV, BOTPULSE_DSN (the stand-in), BOTPULSE_TEST_HIDE_SENTRY.
"""
import logging

import _common
from _common import say

import botpulse  # noqa: E402
from botpulse.heartbeat import Heartbeat, PollingMonitor  # noqa: E402

client = botpulse.init()
token = botpulse.resolve_bot_token()
api_url = "https://api.telegram.org/bot%s/getUpdates?offset=1" % token
log = logging.getLogger("bot.scrub")
log.setLevel(logging.INFO)
log.addHandler(botpulse.BotpulseHandler())


def call_api(url):
    bot_token = token  # noqa: F841  a frame local sentry-sdk attaches
    headers = {"Authorization": "Bearer " + token}  # noqa: F841
    raise ConnectionError("POST %s failed" % url)


botpulse.add_breadcrumb(category="http", message="GET " + api_url, data={"url": api_url})
try:
    call_api(api_url)
except ConnectionError as exc:
    event_id = botpulse.capture_exception(exc, extra={"request_url": api_url, "token": token})
log.warning("Telegram call %s failed", api_url, extra={"operation": "getUpdates"})
monitor = PollingMonitor(client)
monitor.failed("request to %s failed" % api_url)
Heartbeat(monitor, "scrub-bot", client=client).finish("error", "getUpdates at %s failed" % api_url)
botpulse.flush(5)
say(event="done", event_id=event_id, sentry=client.uses_sentry_sdk)
