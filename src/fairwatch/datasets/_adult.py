"""The UCI Adult (Census Income) data set, shipped compressed inside the package.

Licence: CC BY 4.0 (Becker & Kohavi 1996, UCI Machine Learning Repository,
https://doi.org/10.24432/C5XW20); the note travels with the file in ``datasets/data/README.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ADULT_COLUMNS", "adult_path", "load_adult"]

ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)


def adult_path() -> Path:
    """Path of the bundled gzip-compressed CSV (32,561 rows with a header)."""
    return Path(str(resources.files("fairwatch.datasets").joinpath("data/adult.csv.gz")))


def load_adult(*, missing: str | None = None) -> Any:
    """Load the Adult training split as a pandas DataFrame.

    Parameters
    ----------
    missing : str, optional
        The original file marks unknown values with ``"?"``; by default they become missing
        values (``NaN``). Pass e.g. ``missing="?"`` to keep them as a category.

    Returns
    -------
    pandas.DataFrame
        32,561 rows, the 15 original columns; ``income`` is ``"<=50K"`` or ``">50K"``.

    Examples
    --------
    >>> from fairwatch.datasets import load_adult
    >>> df = load_adult()
    >>> df.shape
    (32561, 15)
    >>> sorted(df["sex"].unique())
    ['Female', 'Male']
    """
    import pandas as pd

    frame = pd.read_csv(adult_path(), na_values=["?"] if missing is None else [], keep_default_na=False)
    if missing is not None:
        frame = frame.replace("?", missing)
    return frame
