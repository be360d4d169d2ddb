"""Type aliases shared across fairwatch."""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import numpy.typing as npt

#: Anything fairwatch accepts as one column of data: a list, a numpy array, a pandas/Polars/pyarrow
#: series, or (when ``data=`` is given) a column name.
ArrayLike = Any

#: Sensitive features: one column, several columns (2-D array, dataframe, dict of columns), or
#: column names when ``data=`` is given.
SensitiveLike = Any

#: A dataframe of any library narwhals understands.
FrameLike = Any

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

GroupKey = tuple[Any, ...]
Number = Union[int, float]
