"""Rows in, scores out: what every model runner shares.

Count, slice and batch the rows of any table (numpy, scipy.sparse, pandas, Polars, pyarrow, lists)
without copying it, and check that what a model returns are probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from fairwatch.exceptions import InvalidInputError

__all__ = ["DEFAULT_BATCH_SIZE", "batches", "check_batch_size", "check_probabilities", "n_rows", "slice_rows"]

#: Rows per model call unless ``batch_size`` says otherwise (bounds memory, keeps endpoints happy).
DEFAULT_BATCH_SIZE = 65_536


def n_rows(X: Any) -> int:  # noqa: N803
    """Number of rows of an array, sparse matrix, dataframe or list."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1 and shape[0] is not None:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        raise InvalidInputError(
            f"X must be an array, a dataframe or a list of rows; got {type(X).__name__} (it has no length)"
        ) from None


def slice_rows(X: Any, start: int, stop: int) -> Any:  # noqa: N803
    """Rows ``start:stop`` of ``X`` in its own type (numpy, scipy.sparse, pandas, Polars, pyarrow, list)."""
    if hasattr(X, "iloc"):
        return X.iloc[start:stop]
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "tocsr"):
        return X[start:stop]
    if hasattr(X, "slice") and hasattr(X, "num_rows"):  # pyarrow Table
        return X.slice(start, stop - start)
    return X[start:stop]


def batches(n: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each batch of ``batch_size`` rows out of ``n``."""
    for start in range(0, n, batch_size):
        yield start, min(start + batch_size, n)


def check_batch_size(batch_size: Any) -> int:
    """``batch_size`` as an int, or an error naming what a batch size is."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer (rows per model call); got {batch_size!r}")
    return int(batch_size)


def check_probabilities(values: np.ndarray, source: str) -> None:
    """Raise when ``values`` are not finite probabilities in [0, 1]."""
    if values.size == 0:
        return
    if not np.all(np.isfinite(values)):
        raise InvalidInputError(f"{source} returned non-finite scores (NaN or inf); fix the model")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise InvalidInputError(
            f"{source} returned scores in [{low:g}, {high:g}], outside [0, 1]; fairwatch reads them as "
            f"probabilities of the positive class. Apply a sigmoid (e.g. scipy.special.expit) to logits, "
            f"or for a torch module use TorchModelAdapter(module, output='logits')"
        )
