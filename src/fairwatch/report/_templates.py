"""The jinja2 environment of the report templates (jinja2 and plotly are the ``report`` extra)."""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

from fairwatch.exceptions import MissingDependencyError

__all__ = ["fmt", "plotly_js", "render", "script_json"]

_INSTALL = "pip install 'fairwatch[report]'"


@cache
def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise MissingDependencyError(f"HTML reports need jinja2: {_INSTALL}") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fairwatch.report", "templates"),
        autoescape=True,  # group names and column names are user data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["pct"] = lambda x, digits=1: "—" if x is None else f"{100 * x:.{digits}f}%"
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with autoescaping on."""
    return str(_environment().get_template(template).render(**context))


@cache
def plotly_js() -> str:
    """plotly.js from the installed plotly package, to inline (no CDN, no network at view time)."""
    try:
        from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError(
            f"HTML reports need plotly (its bundled plotly.js is inlined): {_INSTALL}"
        ) from exc
    return str(get_plotlyjs())


def script_json(value: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table cell: ``—`` for missing values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.{digits}f}"
