"""Placeholder."""
from flask import Blueprint


def make_blueprint(surface: str) -> Blueprint:
    """Build the blueprint."""
    return Blueprint("openapi", __name__)
