"""gunicorn configuration of the staff surface: `gunicorn -c python:interact.deploy.staff`."""
from interact.deploy import gunicorn_settings

globals().update(gunicorn_settings("staff"))
