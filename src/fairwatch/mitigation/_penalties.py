"""Differentiable fairness penalties for PyTorch training loops.

Each penalty is a gap between soft per-group statistics of one mini-batch: the mean predicted
probability per group (a soft selection rate), and for equalised odds the same mean among the
positive and among the negative labels (soft true and false positive rates). The statistics are
sums over rows grouped by integer code (``index_add``), so a penalty costs one pass over the
batch and its gradient flows back through the probabilities to the model.

Needs the ``torch`` extra (``pip install 'fairwatch[torch]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairwatch._torch_adapter import require_torch
from fairwatch.exceptions import InvalidInputError, LengthMismatchError

torch = require_torch("fairwatch's fairness penalties")

__all__ = ["demographic_parity_penalty", "equalized_odds_penalty", "group_codes"]

_AGGREGATIONS = ("worst_case", "mean")


def _as_probabilities(probs: Any, argument: str = "probs") -> Any:
    if not isinstance(probs, torch.Tensor):
        raise InvalidInputError(
            f"{argument} must be a torch.Tensor (so the penalty can be differentiated); got {type(probs).__name__}"
        )
    if probs.ndim == 2 and probs.shape[1] == 1:
        probs = probs[:, 0]
    if probs.ndim != 1:
        raise InvalidInputError(
            f"{argument} must hold one probability per row, shape (n,) or (n, 1); got shape {tuple(probs.shape)}. "
            f"For two class columns pass probs[:, 1]"
        )
    if not probs.is_floating_point():
        raise InvalidInputError(f"{argument} must be floating point probabilities; got dtype {probs.dtype}")
    with torch.no_grad():
        if probs.numel() and (
            not bool(torch.isfinite(probs).all()) or float(probs.min()) < 0.0 or float(probs.max()) > 1.0
        ):
            low, high = float(probs.min()), float(probs.max())
            raise InvalidInputError(
                f"{argument} must be probabilities in [0, 1]; got values in [{low:g}, {high:g}]. Apply "
                f"torch.sigmoid to logits first"
            )
    return probs


def group_codes(groups: Any, n_rows: int, device: Any = None) -> Any:
    """Integer group codes (a ``torch.long`` tensor of shape (n_rows,)) from any group labels.

    Integer tensors are used as they are; anything else (numpy arrays, lists of strings, ...) is
    encoded with its sorted distinct values.
    """
    if isinstance(groups, torch.Tensor):
        if groups.is_floating_point() or groups.is_complex():
            raise InvalidInputError(
                f"groups must hold integer codes or labels; got a {groups.dtype} tensor. Pass groups.long()"
            )
        codes = groups.reshape(-1).long()
        if codes.numel() and int(codes.min()) < 0:
            raise InvalidInputError("groups codes must be non-negative integers")
    else:
        values = np.asarray(groups)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise InvalidInputError(f"groups must be one label per row; got shape {values.shape}")
        _, inverse = np.unique(values, return_inverse=True)
        codes = torch.as_tensor(inverse.reshape(-1), dtype=torch.long)
    if codes.shape[0] != n_rows:
        raise LengthMismatchError(f"groups must have one value per row: probs has {n_rows}, groups {codes.shape[0]}")
    return codes.to(device) if device is not None else codes


def _weights(sample_weight: Any, like: Any) -> Any:
    if sample_weight is None:
        return torch.ones_like(like)
    weights = torch.as_tensor(sample_weight, dtype=like.dtype, device=like.device).reshape(-1)
    if weights.shape[0] != like.shape[0]:
        raise LengthMismatchError(
            f"sample_weight must have one value per row: probs has {like.shape[0]}, sample_weight {weights.shape[0]}"
        )
    return weights


def _group_means(values: Any, codes: Any, weights: Any) -> Any:
    """Weighted mean of ``values`` per group present (weight > 0) in the batch."""
    size = int(codes.max()) + 1 if codes.numel() else 0
    sums = torch.zeros(size, dtype=values.dtype, device=values.device).index_add(0, codes, values * weights)
    totals = torch.zeros(size, dtype=values.dtype, device=values.device).index_add(0, codes, weights)
    present = totals > 0
    return sums[present] / totals[present]


def _gap(means: Any) -> Any:
    if means.numel() < 2:
        return means.sum() * 0.0  # keeps the graph (and the device) for a batch with one group
    return means.max() - means.min()


def demographic_parity_penalty(probs: Any, groups: Any, *, sample_weight: Any = None) -> Any:
    """Soft demographic-parity gap of a mini-batch: the largest difference between the groups'
    mean predicted probabilities.

    Parameters
    ----------
    probs : torch.Tensor of shape (n,) or (n, 1)
        Predicted probabilities of the positive class (e.g. ``torch.sigmoid(logits)``).
    groups : torch.Tensor, array-like
        Group of each row: integer codes, or any labels (encoded by sorted value).
    sample_weight : torch.Tensor or array-like, optional
        Row weights.

    Returns
    -------
    torch.Tensor
        A scalar in [0, 1], differentiable with respect to ``probs`` (0 when the batch holds a
        single group). Add ``weight * penalty`` to the loss.

    Raises
    ------
    InvalidInputError
        When ``probs`` is not a 1-D float tensor of probabilities in [0, 1].
    LengthMismatchError
        When ``groups`` or ``sample_weight`` do not have one value per row.

    Examples
    --------
    >>> import torch
    >>> from fairwatch.mitigation import demographic_parity_penalty
    >>> logits = torch.tensor([2.0, 0.0, -1.0, -2.0], requires_grad=True)
    >>> penalty = demographic_parity_penalty(torch.sigmoid(logits), [0, 0, 1, 1])
    >>> round(penalty.item(), 4)
    0.4963
    >>> penalty.backward()
    >>> logits.grad is not None
    True
    """
    probs = _as_probabilities(probs)
    codes = group_codes(groups, probs.shape[0], probs.device)
    return _gap(_group_means(probs, codes, _weights(sample_weight, probs)))


def equalized_odds_penalty(
    probs: Any, labels: Any, groups: Any, *, sample_weight: Any = None, agg: str = "worst_case"
) -> Any:
    """Soft equalised-odds gap of a mini-batch: the gaps between the groups' soft true positive
    rates (mean probability among positive labels) and soft false positive rates (among negative
    labels), combined.

    Parameters
    ----------
    probs : torch.Tensor of shape (n,) or (n, 1)
        Predicted probabilities of the positive class.
    labels : torch.Tensor or array-like of shape (n,)
        True labels as 0/1 (or booleans).
    groups : torch.Tensor, array-like
        Group of each row: integer codes, or any labels.
    sample_weight : torch.Tensor or array-like, optional
        Row weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        The larger of the two gaps (as ``equalized_odds_difference``), or their mean (smoother).

    Returns
    -------
    torch.Tensor
        A differentiable scalar in [0, 1].

    Raises
    ------
    InvalidInputError
        For probabilities outside [0, 1], labels other than 0/1, or an unknown ``agg``.
    LengthMismatchError
        When ``labels``, ``groups`` or ``sample_weight`` do not have one value per row.

    Examples
    --------
    >>> import torch
    >>> from fairwatch.mitigation import equalized_odds_penalty
    >>> probs = torch.tensor([0.9, 0.2, 0.6, 0.1])
    >>> round(float(equalized_odds_penalty(probs, [1, 0, 1, 0], ["a", "a", "b", "b"])), 4)
    0.3
    """
    if agg not in _AGGREGATIONS:
        raise InvalidInputError(f"agg must be one of {', '.join(map(repr, _AGGREGATIONS))}; got {agg!r}")
    probs = _as_probabilities(probs)
    n = probs.shape[0]
    y = torch.as_tensor(labels, device=probs.device).reshape(-1)
    if y.shape[0] != n:
        raise LengthMismatchError(f"labels must have one value per row: probs has {n}, labels {y.shape[0]}")
    y = y.to(probs.dtype)
    if n and not bool(((y == 0) | (y == 1)).all()):
        raise InvalidInputError("labels must be 0/1 (or booleans): encode the positive class as 1")
    codes = group_codes(groups, n, probs.device)
    weights = _weights(sample_weight, probs)
    tpr_gap = _gap(_group_means(probs, codes, weights * y))
    fpr_gap = _gap(_group_means(probs, codes, weights * (1.0 - y)))
    if agg == "mean":
        return (tpr_gap + fpr_gap) / 2.0
    return torch.maximum(tpr_gap, fpr_gap)
