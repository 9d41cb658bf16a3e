"""WSGI entry points: `interact.wsgi:public_app`, `interact.wsgi:staff_app`, `interact.wsgi:app`.

Each object is built on first use, so a public host never builds the staff app.
"""
from __future__ import annotations

from . import create_app


def __getattr__(name: str):
    """Build the requested surface's app lazily (PEP 562)."""
    surfaces = {"public_app": "public", "staff_app": "staff", "app": None}
    if name not in surfaces:
        raise AttributeError(name)
    app = create_app(surface=surfaces[name])
    globals()[name] = app
    return app
