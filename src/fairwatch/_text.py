"""Small text helpers shared by the command line and the service."""

from __future__ import annotations

from fairwatch.metrics._summary import DEFAULT_MIN_GROUP_SIZE

__all__ = ["MIN_GROUP_SIZE_HELP", "comma_list"]

#: ``--min-group-size`` of ``fairwatch audit``, ``audit-model`` and ``compare``.
MIN_GROUP_SIZE_HELP = (
    f"Suppress groups with fewer rows: reported with their size and share of the rows, left out of "
    f"disparities (default {DEFAULT_MIN_GROUP_SIZE}; 0 compares groups of any size)."
)


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
