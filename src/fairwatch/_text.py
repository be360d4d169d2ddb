"""Small text helpers shared by the command line and the service."""

from __future__ import annotations

__all__ = ["comma_list"]


def comma_list(text: str | None) -> list[str]:
    """The non-empty, stripped items of a comma-separated option or query parameter.

    Examples
    --------
    >>> comma_list(" sex, race,,")
    ['sex', 'race']
    >>> comma_list(None)
    []
    """
    return [part.strip() for part in (text or "").split(",") if part.strip()]
