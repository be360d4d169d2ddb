"""Window durations such as ``15m``, ``1h``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from datetime import timedelta

from fairwatch.exceptions import InvalidInputError

__all__ = ["DURATION_PATTERN", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d{1,15})\s*([smhdw])\s*$")
#: The syntax of a duration as a JSON Schema pattern (its value is checked by :func:`parse_duration`).
DURATION_PATTERN = r"^ *[0-9]{1,15} *[smhdw] *$"
#: Longest duration accepted (about 100 years): beyond it date arithmetic would overflow.
MAX_SECONDS = 100 * 366 * 86400


def parse_duration(text: str) -> timedelta:
    """Parse ``<integer><unit>`` with unit s, m, h, d or w.

    Examples
    --------
    >>> parse_duration("15m")
    datetime.timedelta(seconds=900)
    >>> parse_duration("2d").days
    2
    """
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None or int(match[1]) == 0:
        raise InvalidInputError(
            f"window must be a positive duration such as 15m, 1h, 2d or 1w (units s, m, h, d, w); got {text!r}"
        )
    if int(match[1]) * _UNITS[match[2]] > MAX_SECONDS:
        raise InvalidInputError(f"window {text!r} is longer than 100 years; use a shorter duration such as 1w")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])
