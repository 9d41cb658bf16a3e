"""gunicorn configuration of the public surface: `gunicorn -c python:interact.deploy.public`."""
from interact.deploy import gunicorn_settings

globals().update(gunicorn_settings("public"))
