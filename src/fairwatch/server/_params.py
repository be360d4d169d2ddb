"""Constraints of the path and query parameters that several routes share, stated in the OpenAPI document.

FastAPI checks them as it parses a request, so what the document says and what the service accepts
cannot drift apart. What a pattern cannot say (an attribute the model has, an end after its start)
the service functions still check, with their own messages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from fairwatch.monitor._durations import DURATION_PATTERN
from fairwatch.monitor._events import ATTRIBUTE_LIST, MODEL_NAME

__all__ = ["ATTRIBUTE_LIST", "DURATION_PATTERN", "OPTIONAL_ATTRIBUTE_LIST", "WINDOW_HELP", "ModelName"]

#: Attribute (or feature) names, or nothing (an empty value means the same as none given).
OPTIONAL_ATTRIBUTE_LIST = f"^({ATTRIBUTE_LIST[1:-1]})?$"
WINDOW_HELP = "Window length: 15m, 1h, 2d, 1w (a whole number of 5 minutes)"

#: The ``{model}`` of ``/v1/models/{model}/...``.
ModelName = Annotated[str, Path(pattern=MODEL_NAME, description="A model name: letters, digits and _ . -")]
