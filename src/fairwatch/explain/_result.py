"""What every explanation returns: a titled, described table.

The HTML report renders any object with ``title``, ``description`` and ``to_frame()`` as a
section, so each explanation result implements that protocol (plus ``to_dict()`` for JSON and a
readable ``repr`` for notebooks and terminals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import narwhals as nw
import numpy as np

from fairwatch.frames._columns import Column, from_pandas, table_backend

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExplanationResult", "json_safe"]

_Result = TypeVar("_Result", bound="ExplanationResult")

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
    """Base of the explanation results: ``title``, ``description``, ``to_frame()``, ``to_dict()``.

    ``to_frame()`` returns the table in the dataframe library the data came in (pandas, Polars or
    pyarrow; pandas for numpy arrays), as :func:`fairwatch.audit` does.
    """

    title: str
    description: str
    _backend: nw.Implementation = nw.Implementation.PANDAS

    def in_library_of(self: _Result, frame: nw.DataFrame[Any] | None, columns: Sequence[Column] = ()) -> _Result:
        """Return tables in the library of ``frame`` (or of ``columns``): the caller's data."""
        self._backend = table_backend(frame, list(columns))
        return self

    def _table(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (one row per feature, grid point or subgroup)."""
        raise NotImplementedError

    def to_frame(self) -> Any:
        """The result as a table (one row per feature, grid point or subgroup), in the dataframe
        library the data came in: pandas, Polars or pyarrow (pandas for numpy arrays)."""
        return from_pandas(self._table(), self._backend)

    def _payload(self) -> dict[str, Any]:
        """Result-specific fields of :meth:`to_dict` (besides the table rows)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: title, description, the table rows and the result's fields."""
        frame = self._table()
        rows = [dict(zip(map(str, frame.columns), row)) for row in frame.itertuples(index=False, name=None)]
        out: dict[str, Any] = json_safe(
            {"title": self.title, "description": self.description, **self._payload(), "rows": rows}
        )
        return out

    def __repr__(self) -> str:
        frame = self._table()
        import pandas as pd

        with pd.option_context(
            "display.width", 120, "display.max_columns", 12, "display.float_format", "{:.4g}".format
        ):
            table = frame.head(REPR_ROWS).to_string(index=False)
        more = f"\n... {len(frame) - REPR_ROWS} more rows (to_frame() has them all)" if len(frame) > REPR_ROWS else ""
        return f"{self.title}\n{self.description}\n\n{table}{more}"

    def _repr_html_(self) -> str:
        import html

        frame = self._table()
        table = frame.head(50).to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="—")
        return f"<h4>{html.escape(self.title)}</h4><p>{html.escape(self.description)}</p>{table}"
