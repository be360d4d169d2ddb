"""NYC Local Law 144-shaped bias-audit tables: selection (or scoring) rates and impact ratios.

For each category (``sex``, ``race``, ...) and for the intersection of all of them: the number of
people per group, the selection rate (share selected) or scoring rate (share scoring above the
median score of the whole sample), and the impact ratio ``rate / highest rate``. Groups holding less
than ``min_share`` (2 %) of the data are excluded from the impact ratios, and the exclusion is
disclosed; rows with an unknown (missing) category value are counted and left out of that table.
Rates go through :class:`~fairwatch.GroupStats` like every other number fairwatch reports.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._version import __version__
from fairwatch.exceptions import InvalidInputError, MissingValueError, UnknownColumnError
from fairwatch.frames._columns import missing_expr
from fairwatch.frames._encode import python_scalar
from fairwatch.metrics import group_stats, metric_values
from fairwatch.report._io import write_text_atomic

__all__ = ["ImpactRatio", "ImpactRatioRow", "ImpactRatioTable", "impact_ratio"]

_SELECTED = "__fairwatch_selected__"
_SELECTED_COPY = "__fairwatch_selected_copy__"


@dataclass(frozen=True)
class ImpactRatioRow:
    """One group of one table."""

    group: str
    values: dict[str, Any]
    n: int
    share: float
    selected: int
    selection_rate: float | None
    impact_ratio: float | None
    excluded: bool
    below_threshold: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "values": dict(self.values),
            "n": self.n,
            "share": self.share,
            "selected": self.selected,
            "selection_rate": self.selection_rate,
            "impact_ratio": self.impact_ratio,
            "excluded": self.excluded,
            "below_threshold": self.below_threshold,
        }


@dataclass(frozen=True)
class ImpactRatioTable:
    """The table of one category, or of the intersection of several (``categories``)."""

    category: str
    categories: tuple[str, ...]
    rows: tuple[ImpactRatioRow, ...]
    n: int
    unknown: int
    highest_group: str | None

    @property
    def excluded(self) -> list[ImpactRatioRow]:
        """Groups left out of the impact ratios (under ``min_share`` of the data)."""
        return [r for r in self.rows if r.excluded]

    def to_dict(self) -> dict[str, Any]:
        excluded = self.excluded
        return {
            "category": self.category,
            "categories": list(self.categories),
            "rows": [r.to_dict() for r in self.rows],
            "n": self.n,
            "unknown": self.unknown,
            "highest_group": self.highest_group,
            "excluded_groups": [r.group for r in excluded],
            "excluded_n": sum(r.n for r in excluded),
            "excluded_share": sum(r.share for r in excluded),
            "flagged_groups": [r.group for r in self.rows if r.below_threshold],
        }


@dataclass(frozen=True)
class ImpactRatio:
    """Bias-audit tables returned by :func:`impact_ratio`.

    ``to_dict()`` gives ``{"tables": [{"category", "categories", "rows": [{"group", "n",
    "selection_rate", "impact_ratio", "excluded", ...}], ...}], ...}``; ``to_frame()`` one long
    pandas table; ``to_csv()`` and ``to_html()`` the same for files.
    """

    tables: tuple[ImpactRatioTable, ...]
    rate: str  # "selection_rate" or "scoring_rate"
    n: int
    min_share: float
    threshold: float
    median_score: float | None = None
    columns: dict[str, str | None] = field(default_factory=dict)

    @property
    def rate_label(self) -> str:
        return self.rate.replace("_", " ")

    def to_dict(self) -> dict[str, Any]:
        return {
            "fairwatch_version": __version__,
            "rate": self.rate,
            "n": self.n,
            "min_share": self.min_share,
            "threshold": self.threshold,
            "median_score": self.median_score,
            "columns": dict(self.columns),
            "tables": [t.to_dict() for t in self.tables],
        }

    def to_frame(self) -> Any:
        """One row per table and group (pandas)."""
        import pandas as pd

        records = []
        for table in self.tables:
            for row in table.rows:
                records.append(
                    {
                        "category": table.category,
                        "group": row.group,
                        "n": row.n,
                        "share": row.share,
                        "selected": row.selected,
                        self.rate: row.selection_rate,
                        "impact_ratio": row.impact_ratio,
                        "excluded": row.excluded,
                        "below_threshold": row.below_threshold,
                    }
                )
        return pd.DataFrame.from_records(records)

    def to_csv(self) -> str:
        """The long table as CSV text."""
        return str(self.to_frame().to_csv(index=False))

    def to_html(self, path: str | os.PathLike[str] | None = None, *, input_hash: str | None = None) -> str:
        """A self-contained HTML page with every table and the disclosures (written atomically to
        ``path`` when given)."""
        from fairwatch.report._templates import render

        parameters = [(k, "—" if v is None else str(v)) for k, v in self.columns.items()]
        parameters += [("min_share", f"{self.min_share:g}"), ("threshold", f"{self.threshold:g}")]
        if self.median_score is not None:
            parameters.append(("median_score", f"{self.median_score:g}"))
        html = render(
            "impact_ratio.html.j2",
            title="Bias audit: impact ratios",
            report=self,
            footer={
                "version": __version__,
                "python": _python(),
                "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "input_hash": input_hash,
                "stats_hash": None,
                "parameters": parameters,
            },
        )
        if path is not None:
            write_text_atomic(path, html, option="path")
        return html


def _python() -> str:
    import platform

    return platform.python_version()


def _eager(frame: Any, columns: list[str]) -> nw.DataFrame[Any]:
    """The named columns as an eager narwhals frame (lazy frames are collected on them only)."""
    if isinstance(frame, nw.LazyFrame):
        return frame.select(columns).collect()
    return frame.select(columns)  # type: ignore[no-any-return]


def _check_columns(available: list[str], columns: dict[str, list[str]]) -> None:
    for argument, names in columns.items():
        for name in names:
            if name not in available:
                raise UnknownColumnError(
                    f"{argument} column {name!r} is not in the data; available columns: {', '.join(available)}"
                )


def _selected_flag(frame: nw.DataFrame[Any], column: str, pos_label: Any) -> nw.Expr:
    values = frame.get_column(column)
    missing = int(values.null_count())
    if missing:
        raise MissingValueError(
            f"selected column {column!r} has {missing} missing values; every row needs a yes/no outcome "
            f"(drop or fill those rows)"
        )
    distinct = sorted({python_scalar(v) for v in values.unique().to_list()}, key=repr)
    if len(distinct) > 2:
        shown = ", ".join(map(repr, distinct[:6]))
        raise InvalidInputError(
            f"selected column {column!r} has {len(distinct)} distinct values ({shown}, ...); it must say yes/no "
            f"(0/1 or true/false). For a numeric score, use score= (--score) to get scoring rates"
        )
    if pos_label is None:
        if all(isinstance(v, bool) for v in distinct):
            pos_label = True
        elif set(distinct) <= {0, 1}:
            pos_label = 1
        else:
            raise InvalidInputError(
                f"cannot tell which value of selected column {column!r} means selected among "
                f"{', '.join(map(repr, distinct))}; pass pos_label= (--pos-label), e.g. {distinct[-1]!r}"
            )
    elif distinct and pos_label not in distinct:
        raise InvalidInputError(
            f"pos_label={pos_label!r} is not a value of selected column {column!r} ({', '.join(map(repr, distinct))})"
        )
    flag: nw.Expr = nw.col(column) == pos_label
    return flag


def _scoring_flag(frame: nw.DataFrame[Any], column: str) -> tuple[nw.Expr, float]:
    values = frame.get_column(column)
    if not values.dtype.is_numeric():
        raise InvalidInputError(
            f"score column {column!r} holds {values.dtype} values, not numbers; pass a numeric score column, "
            f"or a yes/no column as selected= (--selected)"
        )
    missing = int(values.null_count())
    numbers = values.to_numpy().astype(np.float64)
    missing += int(np.isnan(numbers).sum()) if not missing else 0
    if missing:
        raise MissingValueError(
            f"score column {column!r} has {missing} missing values; every row needs a score (drop or fill those rows)"
        )
    median = float(np.median(numbers))
    return nw.col(column) > median, median


def _known(frame: nw.DataFrame[Any], column: str) -> nw.Expr:
    """Rows with a known value: not missing by the rule every audit applies (null, NaN or blank
    text; CSV readers give "" for empty cells). Audits refuse such rows; these tables count them
    as "unknown", as LL144 bias audits must."""
    return ~missing_expr(column, frame.schema[column])


def _table(
    frame: nw.DataFrame[Any],
    categories: tuple[str, ...],
    total: int,
    min_share: float,
    threshold: float,
) -> ImpactRatioTable:
    known = frame.filter(nw.all_horizontal(*[_known(frame, c) for c in categories], ignore_nulls=True))
    category = " × ".join(categories)
    if len(known) == 0:
        raise InvalidInputError(f"category {category!r} has no row with a known value; every value is missing")
    # The outcome is passed as both labels and predictions: the confusion cells then hold the
    # selected/not-selected counts per group, and the selection rate is the registry's metric.
    stats = group_stats(
        _SELECTED,
        _SELECTED_COPY,
        sensitive_features=list(categories),
        data=known.to_native(),
        metrics=["selection_rate"],
        pos_label=True,
    )
    if stats.n_groups < 2:
        raise InvalidInputError(
            f"category {category!r} has a single group ({stats.group_label(0)}); an impact ratio compares at "
            f"least two groups. Drop it from categories (--categories) or check the column"
        )
    assert stats.confusion_n is not None
    rates = metric_values(stats, "selection_rate", warn=False)
    n = np.asarray(stats.n, dtype=np.float64)
    share = n / total
    excluded = share < min_share
    eligible = np.flatnonzero(~excluded & np.isfinite(rates))
    highest = float(rates[eligible].max()) if eligible.size else math.nan
    top = int(eligible[np.argmax(rates[eligible])]) if eligible.size else None
    rows = []
    for g, key in enumerate(stats.groups):
        ratio = None
        if not excluded[g] and highest > 0 and math.isfinite(rates[g]):
            ratio = float(rates[g] / highest)
        rows.append(
            ImpactRatioRow(
                group=", ".join(str(v) for v in key),
                values={name: python_scalar(v) for name, v in zip(categories, key)},
                n=int(n[g]),
                share=float(share[g]),
                selected=int(stats.confusion_n[g, :, 1].sum()),
                selection_rate=float(rates[g]) if math.isfinite(rates[g]) else None,
                impact_ratio=ratio,
                excluded=bool(excluded[g]),
                below_threshold=None if ratio is None else ratio < threshold,
            )
        )
    return ImpactRatioTable(
        category=category,
        categories=categories,
        rows=tuple(rows),
        n=int(n.sum()),
        unknown=total - int(n.sum()),
        highest_group=None if top is None else rows[top].group,
    )


def impact_ratio(
    data: Any,
    *,
    categories: Sequence[str] | str,
    selected: str | None = None,
    score: str | None = None,
    pos_label: Any = None,
    min_share: float = 0.02,
    threshold: float = 0.8,
    intersection: bool = True,
) -> ImpactRatio:
    """Impact-ratio tables in the shape of a NYC Local Law 144 bias audit.

    Parameters
    ----------
    data : dataframe
        pandas, Polars, pyarrow, DuckDB, ... with one row per person assessed (lazy frames are
        collected on the named columns only).
    categories : list of str or comma-separated str
        Category columns (e.g. ``["sex", "race"]``). Each gets a table, and so does their
        intersection when there are several.
    selected : str, optional
        Yes/no column: the person was selected (moved forward, hired, ...). Gives selection rates.
    score : str, optional
        Numeric score column, for tools that score rather than select. The scoring rate of a group
        is the share of its members scoring above the median score of the whole sample.
    pos_label : object, optional
        Value of ``selected`` that means selected (inferred for 0/1 and booleans).
    min_share : float
        Groups holding less than this share of all rows (2 % by default, as the rules allow) are
        excluded from the impact ratios; they are still listed, marked ``excluded``.
    threshold : float
        Impact ratios below it are flagged (``below_threshold``; 0.8 is the four-fifths rule).
    intersection : bool
        Add the table of the intersection of all categories (when there are several).

    Returns
    -------
    ImpactRatio

    Raises
    ------
    fairwatch.exceptions.UnknownColumnError
        A named column is not in ``data``.
    fairwatch.exceptions.InvalidInputError
        Neither or both of ``selected`` and ``score``; a non-numeric score; a selected column that
        is not yes/no; a category with a single group; missing outcomes (``MissingValueError``).

    Notes
    -----
    Rows whose value of a category is missing (null or blank text) are "unknown": counted in the
    table's ``unknown`` field and left out of its rates, as the rules ask. Shares (and the
    ``min_share`` rule) are relative to all rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairwatch.report import impact_ratio
    >>> df = pd.DataFrame({"sex": ["F"] * 50 + ["M"] * 50, "hired": [1] * 20 + [0] * 30 + [1] * 25 + [0] * 25})
    >>> table = impact_ratio(df, selected="hired", categories="sex").tables[0]
    >>> [(r.group, r.selection_rate, r.impact_ratio) for r in table.rows]
    [('F', 0.4, 0.8), ('M', 0.5, 1.0)]
    """
    if isinstance(categories, str):
        categories = [c.strip() for c in categories.split(",") if c.strip()]
    names = tuple(categories)
    if not names:
        raise InvalidInputError("categories is empty; name at least one category column, e.g. categories=['sex']")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"categories must be distinct; got {list(names)}")
    if (selected is None) == (score is None):
        raise InvalidInputError(
            "pass exactly one of selected= (a yes/no column: selection rates) or score= (a numeric column: "
            "scoring rates)"
        )
    if not 0.0 <= min_share < 1.0:
        raise InvalidInputError(f"min_share must be in [0, 1); got {min_share!r}")
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"threshold must be in (0, 1]; got {threshold!r}")
    try:
        native = nw.from_native(data)
    except TypeError:
        raise InvalidInputError(
            f"data must be a dataframe (pandas, Polars, pyarrow, DuckDB, ...); got {type(data).__name__}"
        ) from None
    available = list(native.collect_schema().names())
    outcome = selected if selected is not None else score
    assert outcome is not None
    _check_columns(available, {"selected" if selected is not None else "score": [outcome], "categories": list(names)})
    frame = _eager(native, [outcome, *[c for c in names if c != outcome]])
    if len(frame) == 0:
        raise InvalidInputError("data has no rows; an impact ratio needs the people assessed")
    median = None
    if selected is not None:
        flag = _selected_flag(frame, selected, pos_label)
    else:
        flag, median = _scoring_flag(frame, outcome)
    frame = frame.with_columns(flag.alias(_SELECTED), flag.alias(_SELECTED_COPY))
    total = len(frame)
    groupings: list[tuple[str, ...]] = [(name,) for name in names]
    if intersection and len(names) > 1:
        groupings.append(names)
    tables = tuple(_table(frame, cats, total, min_share, threshold) for cats in groupings)
    return ImpactRatio(
        tables=tables,
        rate="selection_rate" if selected is not None else "scoring_rate",
        n=total,
        min_share=min_share,
        threshold=threshold,
        median_score=median,
        columns={"selected": selected, "score": score, "categories": ", ".join(names)},
    )
