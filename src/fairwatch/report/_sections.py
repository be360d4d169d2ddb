"""Extra report sections contributed by other parts of fairwatch (explanations, probes, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportSection"]


@runtime_checkable
class ReportSection(Protocol):
    """Anything the HTML audit report can render as a titled section with a table.

    ``fairwatch.explain`` results and counterfactual probes implement it; so can user code. The
    report shows ``title`` as a heading, ``description`` as a paragraph and ``to_frame()`` (a
    pandas DataFrame) as a table. All three are escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairwatch.report import ReportSection
    >>> class Note:
    ...     title = "Reviewer notes"
    ...     description = "Hand-written remarks."
    ...     def to_frame(self) -> pd.DataFrame:
    ...         return pd.DataFrame({"remark": ["ok"]})
    >>> isinstance(Note(), ReportSection)
    True
    """

    @property
    def title(self) -> str: ...

    @property
    def description(self) -> str: ...

    def to_frame(self) -> pd.DataFrame: ...
