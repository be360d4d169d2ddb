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
    assert list(frame.columns) == [
        "feature",
        "|shap| group=a",
        "|shap| group=b",
        "|shap| gap",
        "contribution_to_gap",
        "contribution_lo",  # intervals are on by default (ci=0.95)
        "contribution_hi",
    ]
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


# -- the sample, intervals, progress and the caller's library (issue 22, item 8) ---------------------------
def test_the_sample_is_stated(planted) -> None:
    result = shap_by_group(
        planted.model, planted.X, sensitive_features=planted.group, background_size=10, random_state=0
    )
    population = np.bincount(pd.factorize(planted.group, sort=True)[0])
    assert result.n.tolist() == [100, 100]  # max_samples=200 split over two groups
    assert result.sample_size == 200 and result.n_population.tolist() == population.tolist()
    assert f"a stratified sample of 200 of the {len(planted.X):,} rows" in result.description
    assert f"sensitive_feature_0=a 100 of {population[0]:,}; sensitive_feature_0=b 100 of {population[1]:,}" in (
        result.description
    )
    data = result.to_dict()
    assert data["n"] == [100, 100] and data["sample_size"] == 200 and data["n_rows"] == len(planted.X)


def test_bootstrap_intervals_of_the_gap_and_the_contributions(planted) -> None:
    result = shap_by_group(
        planted.model, planted.X, sensitive_features=planted.group, max_samples=80, background_size=10, random_state=0
    )
    assert result.ci == 0.95
    assert result.gap_lo < result.gap < result.gap_hi
    assert result.gap == pytest.approx(result.contributions.sum(), abs=1e-9)
    assert (result.contributions_lo <= result.contributions + 1e-12).all()
    assert (result.contributions <= result.contributions_hi + 1e-12).all()
    assert "95% CI" in result.description and "bootstrap over the explained rows" in result.description
    frame = result.to_frame()
    top = frame.iloc[0]
    assert top["contribution_lo"] <= top["contribution_to_gap"] <= top["contribution_hi"]
    # no intervals when ci=None
    plain = shap_by_group(
        planted.model,
        planted.X,
        sensitive_features=planted.group,
        max_samples=80,
        background_size=10,
        random_state=0,
        ci=None,
    )
    assert "contribution_lo" not in plain.to_frame().columns and np.isnan(plain.gap_lo)
    np.testing.assert_allclose(plain.mean, result.mean)


def test_progress_is_reported_without_changing_the_values(planted) -> None:
    calls: list[tuple[int, int]] = []
    kwargs = {"sensitive_features": planted.group, "max_samples": 40, "background_size": 10, "random_state": 3}
    quiet = shap_by_group(planted.model, planted.X, progress=False, **kwargs)
    told = shap_by_group(planted.model, planted.X, progress=lambda done, total: calls.append((done, total)), **kwargs)
    assert len(calls) == 20 and calls[-1] == (40, 40)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    np.testing.assert_array_equal(quiet.mean, told.mean)
    with pytest.raises(ValueError, match=r"progress must be 'auto', True, False or a function progress\(done, total\)"):
        shap_by_group(planted.model, planted.X, progress="yes", **kwargs)


def test_tables_come_back_in_the_callers_library(planted) -> None:
    pl = pytest.importorskip("polars")
    result = shap_by_group(
        planted.model,
        pl.from_pandas(planted.X),
        sensitive_features=pl.Series("group", planted.group),
        max_samples=20,
        background_size=10,
        random_state=0,
    )
    assert isinstance(result.to_frame(), pl.DataFrame)
    assert result.to_frame()["feature"].to_list()[0] == "zip_risk"
    assert isinstance(result.to_dict()["rows"], list)  # JSON and repr do not depend on the library
