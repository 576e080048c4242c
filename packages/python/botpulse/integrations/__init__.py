"""Integrations: python-telegram-bot (ptb), aiogram, Django, Celery. Each imports its framework lazily."""
