"""Log fairwatch audits to MLflow: every group metric and disparity as metrics, the report and the
JSON as artefacts, so fairness trends sit next to accuracy in the MLflow UI.

Metric keys (all valid MLflow names, portable to Windows file stores):

* ``fairness/<metric>/<feature> <value>[/<feature> <value>...]`` per group, with ``_lo``/``_hi``
  twins when the audit has intervals, and ``fairness/n/<group>``;
* ``fairness/disparity/<name>_difference`` and ``..._ratio`` (plus interval bounds);
* ``fairness/check/<expression>``: 1 when the check passed, 0 when it failed;
* ``fairness/suppressed_share``.

Log the same audit metric again with a larger ``step`` (a window index, a date as ``YYYYMMDD``, a
model version...) to draw a trend.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fairwatch._audit import Audit
from fairwatch._version import __version__
from fairwatch.exceptions import InvalidInputError, MissingDependencyError

__all__ = ["log_audit", "metric_key"]

_INVALID = re.compile(r"[^\w.\- ]")
_OPERATORS = {">=": "ge", "<=": "le", "==": "eq", "!=": "ne", ">": "gt", "<": "lt"}
#: MLflow accepts at most 1,000 metrics per log_batch call.
_BATCH = 1000


def _segment(text: str) -> str:
    """One path segment of a metric key: characters MLflow rejects become ``_``."""
    cleaned = _INVALID.sub("_", text).strip()
    return "_" if cleaned in ("", ".", "..") else cleaned


def metric_key(*parts: str) -> str:
    """A valid MLflow metric name from free-text parts (group names, check expressions).

    Examples
    --------
    >>> metric_key("fairness", "check", "demographic_parity_ratio >= 0.8")
    'fairness/check/demographic_parity_ratio ge 0.8'
    >>> metric_key("fairness", "selection_rate", "sex Female", "race Black/African")
    'fairness/selection_rate/sex Female/race Black_African'
    """
    out = []
    for part in parts:
        text = part
        for op, word in _OPERATORS.items():
            text = text.replace(op, f" {word} ")
        out.append(_segment(re.sub(r"\s+", " ", text)))
    return "/".join(out)


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise MissingDependencyError("log_audit needs MLflow: pip install 'fairwatch[mlflow]'") from exc
    return mlflow


def _run_id(mlflow: Any, run: Any) -> str | None:
    if run is None:
        active = mlflow.active_run()
        return None if active is None else str(active.info.run_id)
    if isinstance(run, str):
        return run
    info = getattr(run, "info", None)
    run_id = getattr(info, "run_id", None)
    if run_id is None:
        raise InvalidInputError(
            f"run must be an MLflow run id, an ActiveRun or a Run (or None for the active run); "
            f"got {type(run).__name__}"
        )
    return str(run_id)


def _group_keys(audit: Audit, prefix: str) -> list[str]:
    """Unique key suffixes for the groups (a short hash separates names that clean up the same)."""
    stats = audit.stats
    raw = ["/".join(_segment(f"{n} {v}") for n, v in zip(stats.sensitive_names, key)) for key in stats.groups]
    seen: dict[str, int] = {}
    for name in raw:
        seen[name] = seen.get(name, 0) + 1
    out = []
    for key, name in zip(stats.groups, raw):
        tag = "_" + hashlib.sha1(repr(key).encode("utf-8")).hexdigest()[:6] if seen[name] > 1 else ""
        out.append(name + tag)
    return out


def audit_metrics(audit: Audit, prefix: str = "fairness") -> dict[str, float]:
    """The flat ``{metric key: value}`` mapping :func:`log_audit` logs (undefined values left out)."""
    data = audit.to_dict()
    values: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        if value is not None:
            values[key] = float(value)

    for group, suffix in zip(data["groups"], _group_keys(audit, prefix)):
        put(f"{prefix}/n/{suffix}", group["n"])
        for name, m in group["metrics"].items():
            if name == "count":
                continue
            put(f"{prefix}/{name}/{suffix}", m["value"])
            put(f"{prefix}/{name}_lo/{suffix}", m["lo"])
            put(f"{prefix}/{name}_hi/{suffix}", m["hi"])
    for name, d in data["disparities"].items():
        for stat in ("difference", "difference_lo", "difference_hi", "ratio", "ratio_lo", "ratio_hi"):
            put(f"{prefix}/disparity/{name}_{stat}", d[stat])
    for check in data["checks"]:
        values[metric_key(prefix, "check", check["expression"])] = 1.0 if check["passed"] else 0.0
    put(f"{prefix}/suppressed_share", data["suppressed_share"])
    return values


def log_audit(
    audit: Audit,
    run: Any = None,
    *,
    step: int | None = None,
    timestamp: float | None = None,
    prefix: str = "fairness",
    artifact_path: str = "fairwatch",
    html: bool = True,
    report_options: Mapping[str, Any] | None = None,
) -> str:
    """Log an audit to an MLflow run: metrics for every group value and disparity, artefacts for
    the JSON and the HTML report.

    Parameters
    ----------
    audit : Audit
        What to log (checks evaluated with :meth:`Audit.check` are logged too).
    run : str, mlflow.ActiveRun or mlflow.entities.Run, optional
        The run to log to. ``None``: the active run, or a new run (ended before returning) when
        there is none.
    step : int, optional
        Step of every metric (window index, model version, ...), for trend charts. Default 0.
    timestamp : float, optional
        Seconds since the epoch of every metric (default: now).
    prefix : str
        First segment of every metric key.
    artifact_path : str
        Directory of the artefacts in the run (``audit.json``, ``audit.html``; with a step,
        ``audit-step<step>.json``...).
    html : bool
        Also log the HTML report (needs ``fairwatch[report]``; about 5 MB with plotly.js inlined).
    report_options : mapping, optional
        Keyword arguments for :meth:`Audit.to_html` (``title``, ``checks``, ``explanations``...).

    Returns
    -------
    str
        The run id.

    Raises
    ------
    fairwatch.exceptions.MissingDependencyError
        When MLflow is not installed (``pip install 'fairwatch[mlflow]'``).

    Examples
    --------
    >>> import mlflow  # doctest: +SKIP
    >>> from fairwatch.integrations.mlflow import log_audit  # doctest: +SKIP
    >>> with mlflow.start_run():  # doctest: +SKIP
    ...     log_audit(fw.audit(y, y_pred, sensitive_features=sex, ci=0.95), step=3)
    """
    if not isinstance(audit, Audit):
        raise InvalidInputError(f"log_audit needs a fairwatch Audit (fairwatch.audit(...)); got {type(audit).__name__}")
    if not _segment(prefix) == prefix or "/" in prefix:
        raise InvalidInputError(
            f"prefix must be a plain MLflow name (letters, digits, _ - . and spaces); got {prefix!r}"
        )
    mlflow = _import_mlflow()
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    run_id = _run_id(mlflow, run)
    owned = run_id is None
    if run_id is None:
        run_id = str(mlflow.start_run(run_name="fairwatch audit").info.run_id)
    try:
        stamp = int((time.time() if timestamp is None else timestamp) * 1000)
        metrics = [Metric(k, v, stamp, step or 0) for k, v in audit_metrics(audit, prefix).items()]
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[start : start + _BATCH])
        client.set_tag(run_id, "fairwatch.version", __version__)
        client.set_tag(run_id, "fairwatch.sensitive_features", ", ".join(audit.sensitive_features))
        suffix = "" if step is None else f"-step{step}"
        with tempfile.TemporaryDirectory(prefix="fairwatch-mlflow-") as tmp:
            folder = Path(tmp)
            (folder / f"audit{suffix}.json").write_text(json.dumps(audit.to_dict(), indent=2), encoding="utf-8")
            if html:
                audit.to_html(folder / f"audit{suffix}.html", **dict(report_options or {}))
            client.log_artifacts(run_id, str(folder), artifact_path)
    except BaseException:
        if owned:
            mlflow.end_run(status="FAILED")
        raise
    if owned:
        mlflow.end_run()
    return run_id
