"""``fairwatch audit-model``: load a saved model, run it on a data file and audit its decisions."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch._text import MIN_GROUP_SIZE_HELP
from fairwatch.cli._input import positive_label, read_table, split_values
from fairwatch.cli._output import CheckOption, FailIfOption, OutputOption, emit
from fairwatch.exceptions import InvalidInputError, MissingDependencyError
from fairwatch.metrics._summary import DEFAULT_MIN_GROUP_SIZE

__all__ = ["load_model", "register"]

_PICKLES = (".joblib", ".pkl", ".pickle")
_TORCH = (".pt", ".pth")


def load_model(path: Path) -> Any:
    """Load a model saved with joblib/pickle (``.joblib``, ``.pkl``) or ``torch.save`` (``.pt``).

    Loading a pickle runs code from the file: only load models you trust.
    """
    if not path.exists():
        raise InvalidInputError(f"MODEL {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in _PICKLES:
        try:
            import joblib  # type: ignore[import-untyped]
        except ImportError:
            raise MissingDependencyError(
                "loading a .joblib model needs joblib: pip install 'fairwatch[mitigation]'"
            ) from None
        try:
            return joblib.load(path)
        except Exception as exc:  # any unpickling failure means a bad MODEL file
            raise InvalidInputError(
                f"cannot load MODEL {str(path)!r}: {type(exc).__name__}: {exc}. Save it with joblib.dump(model, path) "
                f"in an environment with the same libraries"
            ) from None
    if suffix in _TORCH:
        from fairwatch._torch_adapter import require_torch

        torch = require_torch("loading a .pt model")
        try:
            model = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise InvalidInputError(f"cannot load MODEL {str(path)!r} with torch.load: {exc}") from None
        if not isinstance(model, torch.nn.Module):
            raise InvalidInputError(
                f"MODEL {str(path)!r} holds a {type(model).__name__}, not a torch.nn.Module; save the whole module "
                f"with torch.save(module, path), not its state_dict"
            )
        return model
    raise InvalidInputError(
        f"MODEL {str(path)!r} must be a .joblib/.pkl file (joblib.dump) or a .pt/.pth file (torch.save); "
        f"got {suffix or 'no suffix'}"
    )


def _check_model_output(model_output: str) -> None:
    from fairwatch._torch_adapter import TORCH_OUTPUTS

    if model_output not in TORCH_OUTPUTS:
        raise InvalidInputError(f"--model-output must be one of {', '.join(TORCH_OUTPUTS)}; got {model_output!r}")


def _with_output(model: Any, model_output: str, batch_size: int) -> Any:
    """A torch module wrapped to read its outputs as ``--model-output`` says (``auto``: as ``audit_model`` does)."""
    from fairwatch._torch_adapter import TORCH_BATCH_SIZE, TorchModelAdapter, is_torch_module

    if model_output == "auto":
        return model
    if not is_torch_module(model):
        raise InvalidInputError(
            f"--model-output {model_output} is for torch modules, but MODEL holds a {type(model).__name__} (its "
            f"methods say what it returns); drop --model-output"
        )
    return TorchModelAdapter(model, output=model_output, batch_size=max(1, min(batch_size, TORCH_BATCH_SIZE)))


def _features(frame: Any, model: Any, label: str, drop: list[str]) -> Any:
    """The columns the model reads: its ``feature_names_in_`` when it has them, else all but label and drop."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        missing = [str(n) for n in names if n not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"the model was fitted on columns that DATA lacks: {', '.join(missing[:10])}; give a file with them"
            )
        return frame[[str(n) for n in names]]
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise InvalidInputError(f"--drop column {unknown[0]!r} is not in DATA; columns: {', '.join(frame.columns)}")
    return frame.drop(columns=[label, *drop])


def audit_model_command(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A .joblib/.pkl model, or a .pt torch module.")],
    data: Annotated[Path, typer.Argument(metavar="DATA", help="CSV or Parquet file with features, labels, groups.")],
    label: Annotated[str, typer.Option("--label", help="Column with the true labels.")],
    sensitive: Annotated[list[str], typer.Option("--sensitive", help="Sensitive column(s), comma-separated.")],
    threshold: Annotated[
        Optional[float],
        typer.Option("--threshold", help="Positive when the score is at least this (default: predict)."),
    ] = None,
    drop: Annotated[
        Optional[list[str]],
        typer.Option("--drop", help="Columns the model must not see (when it has no feature_names_in_)."),
    ] = None,
    metrics: Annotated[Optional[list[str]], typer.Option("--metrics", help="Metrics, comma-separated.")] = None,
    ci: Annotated[Optional[float], typer.Option("--ci", help="Confidence level, e.g. 0.95.")] = None,
    min_group_size: Annotated[int, typer.Option("--min-group-size", help=MIN_GROUP_SIZE_HELP)] = DEFAULT_MIN_GROUP_SIZE,
    pos_label: Annotated[Optional[str], typer.Option("--pos-label", help="The positive label.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Rows per model call.")] = 65_536,
    model_output: Annotated[
        str,
        typer.Option(
            "--model-output",
            help="What a torch module returns: auto (read from its last layer or values), logits, probabilities "
            "or log_probabilities.",
        ),
    ] = "auto",
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    output: OutputOption = None,
    check: CheckOption = None,
    fail_if: FailIfOption = None,
) -> None:
    """Run a saved MODEL on DATA and audit its decisions (and scores) across groups."""
    from fairwatch._audit_model import audit_model
    from fairwatch._checks import parse_check

    if output_format not in ("table", "json", "csv"):
        raise InvalidInputError(f"--format must be table, json or csv; got {output_format!r}")
    _check_model_output(model_output)
    for expression in [*(check or []), *(fail_if or [])]:
        parse_check(expression)
    model = _with_output(load_model(model_path), model_output, batch_size)
    table = read_table(data)
    if label not in table.column_names:
        raise InvalidInputError(f"--label column {label!r} is not in DATA; columns: {', '.join(table.column_names)}")
    groups = split_values(sensitive)
    for column in groups:
        if column not in table.column_names:
            raise InvalidInputError(
                f"--sensitive column {column!r} is not in DATA; columns: {', '.join(table.column_names)}"
            )
    frame = table.to_pandas()
    features = _features(frame, model, label, split_values(drop))
    err = Console(stderr=True)
    status = err.status(f"Running {model_path.name} on {len(frame)} rows…") if err.is_terminal else nullcontext()
    with status:
        result = audit_model(
            model,
            features,
            frame[label].to_numpy(),
            sensitive_features={c: frame[c].to_numpy() for c in groups},
            threshold=threshold,
            pos_label=positive_label(table, label, pos_label),
            batch_size=batch_size,
            metrics=split_values(metrics) or None,
            ci=ci,
            min_group_size=min_group_size,
        )
    checks = result.check(*check) if check else []
    gates = result.check(*fail_if) if fail_if else []
    if output_format == "table" and output is None:
        info = result.model_info
        err.print(f"model {info['model']}, decision {info['decision']}", highlight=False)
    emit(result, output_format, output, checks, gates)
    if any(g.passed for g in gates):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``audit-model`` to the main app."""
    app.command("audit-model")(audit_model_command)
