"""``GET /v1/models/{model}/estimates``: label-free fairness estimates per window (thin route)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from fairwatch._text import comma_list
from fairwatch.monitor._estimate import UNCERTAINTY_METHOD, CalibrationMethod, estimate_windows
from fairwatch.monitor._events import EventTime
from fairwatch.server._params import ATTRIBUTE_LIST, DURATION_PATTERN, WINDOW_HELP, ModelName

__all__ = ["build_router"]


class EstimatesResponse(BaseModel):
    model: str
    sensitive: list[str]
    window: str
    estimated: bool
    uncertainty: str
    rule: str
    reference: dict[str, Any]
    windows: list[dict[str, Any]]


#: The calibration methods ``method`` accepts.
METHODS = list(get_args(CalibrationMethod))

RULE = (
    "per window and group: realised counts of the labelled predictions plus expected counts of the unlabelled "
    "ones; 'estimated' is false once every prediction has its label (then the values are the realised ones)"
)


def build_router(ctx: Any) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/models/{model}/estimates",
        response_model=EstimatesResponse,
        dependencies=[Depends(ctx.auth.require_model("read"))],
        tags=["read"],
    )
    def get_estimates(
        model: ModelName,
        sensitive: Annotated[str, Query(pattern=ATTRIBUTE_LIST, description="Sensitive attribute(s), comma-separated")],
        reference_start: Annotated[EventTime, Query(description="Start of a labelled reference period")],
        reference_end: Annotated[EventTime, Query(description="End of the reference period")],
        window: Annotated[str, Query(pattern=DURATION_PATTERN, description=WINDOW_HELP)] = "1d",
        start: EventTime | None = None,
        end: EventTime | None = None,
        ci: Annotated[float, Query(gt=0, lt=1)] = 0.95,
        # the choices are documented; the estimator checks them, with its own message
        method: Annotated[
            str, Query(description="auto, identity, isotonic or platt", json_schema_extra={"enum": METHODS})
        ] = "auto",
        min_group_size: Annotated[int, Query(ge=0)] = 30,
        min_reference_rows: Annotated[int, Query(ge=20)] = 200,
        max_ece: Annotated[float, Query(gt=0, le=1)] = 0.05,
        model_version: str | None = None,
        pos_label: str = "1",
    ) -> EstimatesResponse:
        """Estimated TPR, FPR, precision, accuracy and disparities before labels arrive (marked ``estimated``)."""
        names = comma_list(sensitive)
        calibration, windows = estimate_windows(
            ctx.store,
            model,
            sensitive=names,
            reference_start=reference_start,
            reference_end=reference_end,
            window=window,
            start=start,
            end=end,
            ci=ci,
            method=method,  # type: ignore[arg-type]
            min_group_size=min_group_size,
            min_reference_rows=min_reference_rows,
            max_ece=max_ece,
            model_version=model_version,
            pos_label=pos_label,
        )
        payload = [w.to_dict() for w in windows]
        return EstimatesResponse(
            model=model,
            sensitive=names,
            window=window,
            estimated=any(w["estimated"] for w in payload),
            uncertainty=UNCERTAINTY_METHOD,
            rule=RULE,
            reference=calibration.to_dict(),
            windows=payload,
        )

    return router
