"""A small seeded store for the dashboard tests: four days of a credit model and a second model."""

from __future__ import annotations

import datetime as dt

from fairwatch.monitor import Store

from .events import T0, make_stream

#: Every prediction made before this time has its outcome: days one to three are fully labelled.
LABELS_UNTIL = T0 + dt.timedelta(days=3)
#: Until this time every other prediction has its outcome (partial coverage); later ones have none yet.
PARTIAL_UNTIL = LABELS_UNTIL + dt.timedelta(hours=12)


def seed_store(store: Store) -> None:
    """``credit``: 1,500 scored predictions over ~4 days for two groups (sex F/M), with ages and regions
    as features, every outcome for the first three days, half of them for the next 12 hours and none
    after; ``loans``: 200 predictions, no outcomes."""
    stream = make_stream(1500, seed=3, minutes_per_event=4, labelled_share=1.0)
    predictions = [e.model_copy(update={"sensitive": {"sex": e.sensitive["sex"]}}) for e in stream.predictions]
    made = {e.prediction_id: e.timestamp for e in predictions}

    def arrived(prediction_id: str) -> bool:
        when = made[prediction_id]
        return when < LABELS_UNTIL or (when < PARTIAL_UNTIL and int(prediction_id[1:]) % 2 == 0)

    store.insert_predictions(predictions)
    store.insert_outcomes([o for o in stream.outcomes if arrived(o.prediction_id)])
    loans = make_stream(200, seed=4, model="loans", minutes_per_event=30)
    store.insert_predictions(
        [
            e.model_copy(update={"prediction_id": f"loan-{e.prediction_id}", "sensitive": {"sex": e.sensitive["sex"]}})
            for e in loans.predictions
        ]
    )
