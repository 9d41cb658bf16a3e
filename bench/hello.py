"""The ceiling for bench_http.py: the smallest Flask app, served by the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """A constant page."""
    return "Hello, world!"
