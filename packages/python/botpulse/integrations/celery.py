"""Celery: failed tasks reported through the `task_failure` signal, with the task's name and id.

    botpulse.integrations.celery.connect()   # once, in the worker (e.g. where the Celery app is made)
"""
from .. import get_client

_connected = []


def on_task_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, traceback=None, einfo=None, **_):
    name = getattr(sender, "name", None) or str(sender)
    request = getattr(sender, "request", None)
    retries = getattr(request, "retries", None)
    context = {"task": name, "task_id": task_id}
    if retries is not None:
        context["retries"] = retries
    if exception is not None and exception.__traceback__ is None and traceback is not None:
        exception = exception.with_traceback(traceback)
    get_client().capture_exception(
        exception, tags={"origin": "celery", "celery_task": name, "celery_task_id": task_id},
        contexts={"celery": context}, transaction=name, mechanism={"type": "celery.task_failure", "handled": False})


def connect():
    """Connects the task_failure hook (idempotent)."""
    from celery.signals import task_failure

    if not _connected:
        task_failure.connect(on_task_failure, weak=False)
        _connected.append(True)
