"""Run a PyTorch binary classifier like a scikit-learn one, reading what it returns.

:class:`TorchModelAdapter` gives a ``torch.nn.Module`` ``predict_proba`` / ``predict`` and decides
whether the module returns logits, probabilities or log-probabilities (from its last layer or its
values, or it asks). torch is imported only when a torch feature is used.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._model_rows import batches, check_batch_size, check_probabilities
from fairwatch._typing import FloatArray
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, MissingDependencyError

__all__ = ["TORCH_BATCH_SIZE", "TORCH_OUTPUTS", "TorchModelAdapter", "is_torch_module", "require_torch"]

#: Rows per forward pass of a torch module (bounds the memory of its activations).
TORCH_BATCH_SIZE = 8192
_TORCH_HINT = "pip install 'fairwatch[torch]'"


def is_torch_module(model: Any) -> bool:
    """True for a ``torch.nn.Module``, without importing torch (a module implies torch is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def require_torch(feature: str) -> Any:
    """Import torch or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(f"{feature} needs PyTorch, which is not installed: {_TORCH_HINT}") from None
    return torch


def _as_float_matrix(X: Any) -> np.ndarray:  # noqa: N803
    """A 2-D float32 numpy array from an array, a dataframe or a list of rows."""
    values = X
    if hasattr(X, "tocsr"):
        values = X.toarray()
    elif not isinstance(X, (np.ndarray, list, tuple)):
        with contextlib.suppress(TypeError):
            values = nw.from_native(X, eager_only=True).to_numpy()
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a torch model needs numeric features; X cannot be converted to float32 ({exc}). Encode "
            f"categorical columns first (e.g. one-hot)"
        ) from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InvalidInputError(f"X must be 2-D (rows x features) for a torch model; got shape {array.shape}")
    return array


#: What a module's outputs can be; "auto" reads it from the module (see TorchModelAdapter).
TORCH_OUTPUTS = ("auto", "logits", "probabilities", "log_probabilities")


def _layer_kind(layer: Any) -> str | None:
    """What a layer's outputs are, when its type says so; None when it does not."""
    nn = require_torch("TorchModelAdapter").nn
    if isinstance(layer, (nn.Sigmoid, nn.Softmax)):
        return "probabilities"
    if isinstance(layer, (nn.LogSigmoid, nn.LogSoftmax)):
        return "log_probabilities"
    if isinstance(layer, (nn.Linear, nn.Bilinear)):  # unbounded, so a classifier's raw output: logits
        return "logits"
    return None


def _forward_noting_last_layer(module: Any, batch: Any) -> tuple[Any, Any, bool]:
    """``module(batch)``, the last layer that ran, and whether the output is that layer's output as is.

    Forward hooks see what actually ran, unlike registration order (a custom ``forward`` may use
    its layers in any order). Layers that only reshape or pass values through are skipped, so
    ``Sequential(..., Sigmoid(), Flatten(0))`` still ends in its Sigmoid. A function applied after
    the last layer (``torch.sigmoid(self.fc(x))``) gives a new tensor: the layer then says nothing.
    """
    nn = require_torch("TorchModelAdapter").nn
    passing = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout)  # in eval mode, values unchanged
    last: list[tuple[Any, Any]] = []

    def note(layer: Any, _inputs: Any, output: Any) -> None:
        last[:] = [(layer, output)]  # the reference keeps the output alive for the storage check below

    handles: list[Any] = []
    try:
        for layer in module.modules():
            if next(layer.children(), None) is None and not isinstance(layer, passing):
                handles.append(layer.register_forward_hook(note))
    except RuntimeError:  # TorchScript modules take no hooks: their values decide
        pass
    try:
        out = module(batch)
    finally:
        for handle in handles:
            handle.remove()
    if not last:
        return out, None, False
    layer, layer_out = last[0]
    as_is = (
        hasattr(out, "data_ptr")
        and hasattr(layer_out, "data_ptr")
        and out.numel() == layer_out.numel()
        and out.data_ptr() == layer_out.data_ptr()  # the same values, maybe reshaped (a view)
    )
    return out, layer, as_is


def _conflict(output: str, layer_kind: str | None, columns: int) -> bool:
    """True when reading the last layer's outputs as ``output`` would give wrong probabilities."""
    if layer_kind in (None, "logits", output):
        return False
    # softmax(log_softmax(z)) == softmax(z): two log-probability columns are valid logits
    return not (output == "logits" and layer_kind == "log_probabilities" and columns == 2)


class TorchModelAdapter:
    """Run a PyTorch binary classifier like a scikit-learn one: ``predict_proba`` / ``predict``.

    The module runs in eval mode under ``torch.no_grad()``, in batches, on the device of its
    parameters (or ``device``); its training mode is restored afterwards. :func:`audit_model`
    and the probes wrap a bare ``nn.Module`` in this adapter automatically (with ``output="auto"``).

    What the module returns is decided once, on the first batch it runs, and kept: with
    ``output="auto"``,

    1. the last layer that ran, when ``forward`` returns its output unchanged (reshaping and
       dropout layers after it are skipped), decides: ``Sigmoid`` or ``Softmax`` mean
       probabilities, ``LogSigmoid`` or ``LogSoftmax`` log-probabilities (exponentiated),
       ``Linear`` or ``Bilinear`` logits;
    2. otherwise (e.g. ``forward`` ends in ``torch.sigmoid(...)``, which no layer shows) the
       values decide: any value outside [0, 1] means logits;
    3. otherwise the outputs cannot be told apart, and :class:`InvalidInputError` asks for
       ``output="logits"`` or ``output="probabilities"``. Nothing is guessed.

    An explicit ``output`` is used as given, except that it may not contradict a last layer that
    squashes (``output="logits"`` on a module ending in ``Sigmoid`` would apply a second sigmoid
    and put every probability above 0.5): that raises :class:`InvalidInputError`. Two
    ``LogSoftmax`` columns may be read as logits (their softmax is the same). A later batch that
    contradicts the first (values outside [0, 1] read as probabilities) raises too.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float tensor of shape (batch, n_features) to one output per row (shape (batch,) or
        (batch, 1)) or to two class outputs (shape (batch, 2), column 1 the positive class).
    output : {"auto", "logits", "probabilities", "log_probabilities"}, default="auto"
        What the module returns: read from the module (``"auto"``, see above), logits (a sigmoid,
        or a softmax over two columns, is applied), probabilities (checked to lie in [0, 1]) or
        log-probabilities (exponentiated, then checked).
    threshold : float, default=0.5
        ``predict`` returns 1 where the probability is at least ``threshold``.
    batch_size : int, default=8192
        Rows per forward pass.
    device : str or torch.device, optional
        Where inputs are sent; default: the device of the module's first parameter (CPU if none).

    Attributes
    ----------
    classes_ : ndarray
        ``[0, 1]``.
    output_ : str or None
        What the outputs were read as (``"logits"``, ``"probabilities"`` or
        ``"log_probabilities"``); None until the first prediction.
    output_reason_ : str or None
        Why: ``"last layer Sigmoid"``, ``"values outside [0, 1]"`` or ``"output='logits'"``.

    Raises
    ------
    InvalidInputError
        For an unknown ``output``, outputs that cannot be told apart, an ``output`` that
        contradicts the last layer, or outputs of the wrong shape or range.

    Examples
    --------
    >>> import torch
    >>> from fairwatch import TorchModelAdapter
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    >>> adapter = TorchModelAdapter(net)
    >>> adapter.predict_proba([[0.0, 1.0], [1.0, 0.0]]).shape
    (2, 2)
    >>> adapter.output_, adapter.output_reason_
    ('probabilities', 'last layer Sigmoid')
    """

    def __init__(
        self,
        module: Any,
        *,
        output: str = "auto",
        threshold: float = 0.5,
        batch_size: int = TORCH_BATCH_SIZE,
        device: Any = None,
    ) -> None:
        torch = require_torch("TorchModelAdapter")
        if not isinstance(module, torch.nn.Module):
            raise InvalidInputError(f"TorchModelAdapter wraps a torch.nn.Module; got {type(module).__name__}")
        if output not in TORCH_OUTPUTS:
            raise InvalidInputError(f"output must be one of {', '.join(map(repr, TORCH_OUTPUTS))}; got {output!r}")
        self.module = module
        self.output = output
        self.threshold = float(threshold)
        self.batch_size = check_batch_size(batch_size)
        self.device = device
        self.classes_ = np.array([0, 1])
        self.output_: str | None = None
        self.output_reason_: str | None = None

    def __repr__(self) -> str:
        return f"TorchModelAdapter({type(self.module).__name__}, output={self.output!r})"

    def _device(self) -> Any:
        torch = require_torch("TorchModelAdapter")
        if self.device is not None:
            return torch.device(self.device)
        for parameter in self.module.parameters():
            return parameter.device
        return torch.device("cpu")

    def positive_proba(self, X: Any) -> FloatArray:  # noqa: N803
        """Probability of the positive class, shape (n_samples,)."""
        torch = require_torch("TorchModelAdapter")
        features = _as_float_matrix(X)
        device = self._device()
        dtype = next((p.dtype for p in self.module.parameters() if p.is_floating_point()), torch.float32)
        name = type(self.module).__name__
        chunks: list[np.ndarray] = []
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                for start, stop in batches(features.shape[0], self.batch_size):
                    batch = torch.from_numpy(features[start:stop]).to(device=device, dtype=dtype)
                    if self.output_ is None:
                        out, layer, as_is = _forward_noting_last_layer(self.module, batch)
                        self._decide_output(_check_tensor(out, name), layer, as_is, name)
                    else:
                        out = _check_tensor(self.module(batch), name)
                    chunks.append(self._to_probability(out, (start, stop), name))
        finally:
            self.module.train(was_training)
        return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.float64)

    def _decide_output(self, out: Any, layer: Any, as_is: bool, name: str) -> None:
        """Set ``output_`` from ``output``, the last layer and the first batch's values (see the class)."""
        layer_kind = _layer_kind(layer) if as_is else None
        if self.output != "auto":
            columns = int(out.shape[1]) if out.ndim == 2 else 1
            if _conflict(self.output, layer_kind, columns):
                raise InvalidInputError(
                    f"{name} was given output={self.output!r}, but its last layer is {type(layer).__name__}, which "
                    f"returns {layer_kind}: reading them as {self.output} gives wrong probabilities. Pass "
                    f"output={layer_kind!r}, or output='auto'"
                )
            self.output_, self.output_reason_ = self.output, f"output={self.output!r}"
        elif layer_kind is not None:
            self.output_, self.output_reason_ = layer_kind, f"last layer {type(layer).__name__}"
        elif bool(((out < 0) | (out > 1)).any()):
            self.output_, self.output_reason_ = "logits", "values outside [0, 1]"
        else:
            raise InvalidInputError(
                f"{name} returned values in [{float(out.min()):g}, {float(out.max()):g}], all inside [0, 1], and "
                f"{_layer_note(self.module, layer, as_is)}: fairwatch cannot tell probabilities from logits. Say "
                f"which: TorchModelAdapter(module, output='probabilities') if forward ends in a sigmoid or softmax, "
                f"output='logits' if it returns raw scores (fairwatch audit-model: --model-output)"
            )

    def _to_probability(self, out: Any, rows: tuple[int, int], name: str) -> np.ndarray:
        torch = require_torch("TorchModelAdapter")
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if not (out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 2)):
            raise InvalidInputError(
                f"{name} returned a tensor of shape {tuple(out.shape)}; a binary classifier returns one output "
                f"per row (shape (n,) or (n, 1)) or two class outputs (shape (n, 2))"
            )
        if out.shape[0] != rows[1] - rows[0]:
            raise LengthMismatchError(f"{name} returned {out.shape[0]} outputs for a batch of {rows[1] - rows[0]} rows")
        raw = out
        if self.output_ == "log_probabilities":
            out = out.exp()
        if self.output_ == "logits":
            out = torch.softmax(out, dim=1)[:, 1] if out.ndim == 2 else torch.sigmoid(out)
        elif out.ndim == 2:
            out = out[:, 1]
        values: np.ndarray = out.detach().to("cpu", torch.float64).numpy()
        if self.output == "auto" and values.size and (values.min() < 0.0 or values.max() > 1.0):
            raise InvalidInputError(
                f"{name} returned values in [{float(raw.min()):g}, {float(raw.max()):g}] for rows {rows[0]}-"
                f"{rows[1] - 1}, outside [0, 1], but its outputs were read as {self.output_} ({self.output_reason_}) "
                f"from the first batch it ran: forward does not return the same kind of output for every batch. "
                f"Pass output='logits' if the module returns logits"
            )
        check_probabilities(values, f"{name} (output={self.output_!r})")
        return values

    def predict_proba(self, X: Any) -> FloatArray:  # noqa: N803
        """Probabilities of classes 0 and 1, shape (n_samples, 2)."""
        positive = self.positive_proba(X)
        return np.column_stack((1.0 - positive, positive))

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """0/1 decisions: 1 where the positive probability is at least ``threshold``."""
        return (self.positive_proba(X) >= self.threshold).astype(np.int64)


def _check_tensor(out: Any, name: str) -> Any:
    """``out`` when it is a tensor without NaN (so that its range means something)."""
    torch = require_torch("TorchModelAdapter")
    if not isinstance(out, torch.Tensor):
        raise InvalidInputError(f"{name}.forward must return a tensor; got {type(out).__name__}")
    if bool(torch.isnan(out).any()):  # NaN compares as neither inside nor outside [0, 1]
        raise InvalidInputError(f"{name} returned NaN outputs; fix the model (or leave out the rows it cannot score)")
    return out


def _layer_note(module: Any, layer: Any, as_is: bool) -> str:
    """Why the last layer does not tell what the outputs are (for the error asking the user)."""
    if layer is None or layer is module:  # a module without sub-layers is its own (unknown) layer
        return "no layer says what they are"
    if not as_is:
        return f"forward changes what its last layer ({type(layer).__name__}) returns"
    return f"its last layer ({type(layer).__name__}) does not say what they are"
