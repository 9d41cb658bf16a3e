"""Placeholder blueprint, replaced by the real adapter."""
from flask import Blueprint


def make_blueprint() -> Blueprint:
    """Build the blueprint."""
    return Blueprint("api_public", __name__)
