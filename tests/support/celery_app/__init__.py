"""A stand-in of MagFlow's Celery app for the broker tests.

``celery -A tests.support.celery_app worker ...`` (and ``beat``) finds ``app`` here: it is
built from the environment exactly as MagFlow's (``CELERY_BROKER_URL`` ...), with
MagFlow's task names, retry settings, result shapes and beat schedule. A test chooses how
each task behaves through the control file (``control``), never through the message.
"""

from __future__ import annotations

from tests.support.celery_app.app import make_app
from tests.support.celery_app.tasks import register

app = make_app()
register(app)
celery = app

__all__ = ["app", "celery", "make_app", "register"]
