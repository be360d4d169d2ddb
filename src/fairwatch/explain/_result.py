"""What every explanation returns: a titled, described table.

The HTML report renders any object with ``title``, ``description`` and ``to_frame()`` as a
section, so each explanation result implements that protocol (plus ``to_dict()`` for JSON and a
readable ``repr`` for notebooks and terminals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExplanationResult", "json_safe"]

#: Rows shown by ``repr``; ``to_frame()`` has them all.
REPR_ROWS = 15


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python values and NaN/inf as ``None``."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ExplanationResult:
    """Base of the explanation results: ``title``, ``description``, ``to_frame()``, ``to_dict()``."""

    title: str
    description: str

    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (one row per feature, grid point or subgroup)."""
        raise NotImplementedError

    def _payload(self) -> dict[str, Any]:
        """Result-specific fields of :meth:`to_dict` (besides the table rows)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: title, description, the table rows and the result's fields."""
        frame = self.to_frame()
        rows = [dict(zip(map(str, frame.columns), row)) for row in frame.itertuples(index=False, name=None)]
        out: dict[str, Any] = json_safe(
            {"title": self.title, "description": self.description, **self._payload(), "rows": rows}
        )
        return out

    def __repr__(self) -> str:
        frame = self.to_frame()
        import pandas as pd

        with pd.option_context(
            "display.width", 120, "display.max_columns", 12, "display.float_format", "{:.4g}".format
        ):
            table = frame.head(REPR_ROWS).to_string(index=False)
        more = f"\n... {len(frame) - REPR_ROWS} more rows (to_frame() has them all)" if len(frame) > REPR_ROWS else ""
        return f"{self.title}\n{self.description}\n\n{table}{more}"

    def _repr_html_(self) -> str:
        import html

        frame = self.to_frame()
        table = frame.head(50).to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="—")
        return f"<h4>{html.escape(self.title)}</h4><p>{html.escape(self.description)}</p>{table}"
