"""The monitoring service (FastAPI). Needs the ``server`` extra."""

from fairwatch.server._app import create_app
from fairwatch.server._settings import Settings, parse_api_keys

__all__ = ["Settings", "create_app", "parse_api_keys"]
