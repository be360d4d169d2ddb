"""shap_by_group: runs on a small sample, adds up, names the planted proxy; clear error without shap."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from fairwatch.exceptions import MissingDependencyError
from fairwatch.explain import GroupShap, shap_by_group

pytest.importorskip("shap")


def test_planted_proxy_carries_the_gap(planted) -> None:
    group = pd.Series(planted.group, name="group")
    result = shap_by_group(
        planted.model, planted.X, sensitive_features=group, max_samples=60, background_size=20, random_state=0
    )
    assert isinstance(result, GroupShap)
    assert result.response == "predict_proba"
    assert result.mean_abs.shape == (3, 2) and result.n.tolist() == [30, 30]
    frame = result.to_frame()
    assert frame["feature"].iloc[0] == "zip_risk"
    assert list(frame.columns) == ["feature", "|shap| group=a", "|shap| group=b", "|shap| gap", "contribution_to_gap"]
    assert result.high_group == ("a",)
    # SHAP values add up: the contributions equal the gap in mean output between the two groups
    gap = result.mean_output[0] - result.mean_output[1]
    assert result.contributions.sum() == pytest.approx(gap, abs=1e-9)
    assert 0.0 < result.mean_output[1] < result.mean_output[0] < 1.0
    data = json.loads(json.dumps(result.to_dict()))
    assert data["high_group"] == {"group": "a"}
    assert "SHAP" in result.title


def test_group_column_names_follow_sensitive_names(planted) -> None:
    data = planted.X.assign(sex=np.where(planted.group == "a", "F", "M"))

    class Model:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return planted.model.predict_proba(data[["income", "noise", "zip_risk"]])[:, 1]

    result = shap_by_group(Model(), data.iloc[:200], sensitive_features="sex", max_samples=20, background_size=10)
    assert "|shap| sex=F" in result.to_frame().columns


def test_missing_shap_names_the_extra(planted, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)  # makes `import shap` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'fairwatch\[explain\]'"):
        shap_by_group(planted.model, planted.X, sensitive_features=planted.group)


def test_bad_nsamples(planted) -> None:
    with pytest.raises(ValueError, match=r"nsamples must be 'auto' or an integer of at least 2 \* n_features \+ 2 = 8"):
        shap_by_group(planted.model, planted.X, sensitive_features=planted.group, nsamples=3)
