"""A Celery task failing in eager mode, with botpulse's task_failure hook."""
import _common
from _common import say

import botpulse  # noqa: E402
from botpulse.integrations import celery as botpulse_celery  # noqa: E402
from celery import Celery  # noqa: E402

app = Celery("bot", broker="memory://", backend="cache+memory://")
app.conf.task_always_eager = True
app.conf.task_eager_propagates = False


@app.task(name="botapp.tasks.generate_image")
def generate_image(gen_request_id):
    raise ValueError("generation %d failed" % gen_request_id)


client = botpulse.init()
botpulse_celery.connect()
result = generate_image.delay(42)
botpulse.flush(5)
say(event="done", failed=result.failed(), counters=client.counters(), sentry=client.uses_sentry_sdk)
