"""Counterfactual flip probes and per-row what-if: a planted dependence on the sensitive attribute
is found, a model that does not read it flips nothing, proxies are changed with the attribute,
results are JSON-safe sections; bad input names the fix."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from fairwatch.exceptions import InvalidInputError, UnknownColumnError
from fairwatch.mitigation import ThresholdOptimizer
from fairwatch.probes import counterfactual_flip, what_if


def _people(n: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Income, a proxy ('role') that mirrors sex, and a label that depends on sex directly."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), size=n)
    role = np.where(rng.random(n) < 0.9, np.where(sex == "F", "wife", "husband"), "other")
    income = rng.normal(size=n)
    y = (income + 1.5 * (sex == "M") + rng.normal(scale=0.5, size=n) > 0.8).astype(np.int64)
    return pd.DataFrame({"income": income, "sex": sex, "role": role}), y


def _model(columns: list[str]) -> Any:
    categorical = [c for c in columns if c != "income"]
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), categorical), ("num", "passthrough", ["income"])],
        remainder="drop",
    )
    return make_pipeline(encode, LogisticRegression())


def test_planted_dependence_is_found_with_direction_and_intervals() -> None:
    X, y = _people()
    model = _model(["income", "sex"]).fit(X, y)
    result = counterfactual_flip(model, X, sensitive="sex")
    frame = result.to_frame()
    assert list(frame["original"]) == ["F", "M"]
    assert list(frame["counterfactual"]) == ["M", "F"]
    assert result.flip_rate > 0.3
    f_to_m = frame.iloc[0]
    assert f_to_m["flips_to_positive"] > 0 and f_to_m["flips_to_negative"] == 0  # F -> M only ever approves
    assert frame.iloc[1]["flips_to_positive"] == 0
    assert f_to_m["mean_score_change"] > 0.2 > 0 > frame.iloc[1]["mean_score_change"]
    assert f_to_m["flip_rate_lo"] < f_to_m["flip_rate"] < f_to_m["flip_rate_hi"]
    assert f_to_m["mean_score_change_lo"] < f_to_m["mean_score_change"] < f_to_m["mean_score_change_hi"]
    # The flip count is the count of rows whose decision differs after the flip, computed by hand.
    flipped = X.assign(sex=np.where(X["sex"] == "F", "M", "F"))
    assert int(frame["flips"].sum()) == int((model.predict(flipped) != model.predict(X)).sum())
    assert result.row_flips.sum() == frame["flips"].sum()
    assert "the model uses the attribute" in result.description
    assert result.title == "Counterfactual flip test: sex"
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["overall"]["flip_rate"] == pytest.approx(result.flip_rate)
    assert len(payload["pairs"]) == 2


def test_model_without_the_attribute_flips_nothing_unless_its_proxy_moves() -> None:
    X, y = _people()
    blind = _model(["income"]).fit(X, y)
    result = counterfactual_flip(blind, X, sensitive="sex")
    assert result.flip_rate == 0.0
    assert result.any_flip_rate == 0.0
    assert (result.to_frame()["mean_score_change"] == 0.0).all()
    assert "No decision changed" in result.description
    # A model that reads only the proxy: the attribute alone changes nothing, the proxy map does.
    proxy_model = _model(["income", "role"]).fit(X, y)
    assert counterfactual_flip(proxy_model, X, sensitive="sex").flip_rate == 0.0
    mapped = counterfactual_flip(proxy_model, X, sensitive="sex", proxies={"role": {"F": "wife", "M": "husband"}})
    assert mapped.flip_rate > 0.2
    assert mapped.to_dict()["proxies"] == ["role"]

    def swap_roles(rows: pd.DataFrame, target: str) -> pd.DataFrame:
        return rows.assign(role="husband" if target == "M" else "wife")

    by_function = counterfactual_flip(proxy_model, X, sensitive="sex", proxies=swap_roles)
    assert by_function.flip_rate == mapped.flip_rate
    assert by_function.to_dict()["proxies"] == "function"


def test_numpy_polars_torch_and_functions() -> None:
    X, y = _people(n=600)
    codes = np.column_stack([X["income"], (X["sex"] == "M").astype(float)])
    model = LogisticRegression().fit(codes, y)
    on_numpy = counterfactual_flip(model, codes, sensitive=1)
    assert on_numpy.flip_rate > 0.3
    assert on_numpy.values == [0.0, 1.0]

    def biased(rows: Any) -> np.ndarray:
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
        return (frame["sex"] == "M").cast(pl.Float64).to_numpy() * 0.8 + 0.1

    on_polars = counterfactual_flip(biased, pl.from_pandas(X), sensitive="sex")
    assert on_polars.flip_rate == 1.0
    assert isinstance(on_polars.to_frame(), pl.DataFrame)  # the caller's library, as fairwatch.audit does
    assert on_polars.to_frame()["mean_score_change"].to_list() == pytest.approx([0.8, -0.8])
    torch = pytest.importorskip("torch")
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight[:] = torch.tensor([[0.0, 4.0]])
        net.bias[:] = -2.0
    assert counterfactual_flip(net, codes, sensitive=1).flip_rate == 1.0
    blind = torch.nn.Linear(2, 1)
    with torch.no_grad():
        blind.weight[0, 1] = 0.0
    assert counterfactual_flip(blind, codes, sensitive=1).flip_rate == 0.0


def test_three_groups_give_every_pair() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(["a", "b", "c"], size=300)})
    result = counterfactual_flip(lambda rows: (rows["g"] == "c").to_numpy() * 0.9, X, sensitive="g")
    pairs = result.to_frame()
    assert len(pairs) == 6
    rates = {(r.original, r.counterfactual): r.flip_rate for r in pairs.itertuples()}
    assert rates[("a", "b")] == 0.0 and rates[("a", "c")] == 1.0 and rates[("c", "b")] == 1.0
    assert result.max_flip_rate == 1.0
    only_to_c = counterfactual_flip(lambda rows: (rows["g"] == "c").to_numpy() * 0.9, X, sensitive="g", values=["c"])
    assert set(only_to_c.to_frame()["counterfactual"]) == {"c"}


def test_probe_errors_name_the_fix() -> None:
    X, y = _people(n=100)
    model = _model(["income", "sex"]).fit(X, y)
    with pytest.raises(UnknownColumnError, match=r"sensitive='race' is not a column of X.*X must hold it"):
        counterfactual_flip(model, X, sensitive="race")
    with pytest.raises(UnknownColumnError, match=r"numpy array with 2 columns, so give the column's position"):
        counterfactual_flip(model, np.zeros((5, 2)), sensitive="sex")
    with pytest.raises(UnknownColumnError, match="proxies='job' is not a column of X"):
        counterfactual_flip(model, X, sensitive="sex", proxies={"job": {"F": 1, "M": 2}})
    with pytest.raises(InvalidInputError, match=r"proxies\['role'\] has no replacement for group 'M'"):
        counterfactual_flip(model, X, sensitive="sex", proxies={"role": {"F": "wife"}})
    with pytest.raises(InvalidInputError, match="proxies holds the sensitive column 'sex' itself"):
        counterfactual_flip(model, X, sensitive="sex", proxies={"sex": {"F": "M", "M": "F"}})
    with pytest.raises(InvalidInputError, match="proxies must be a dict"):
        counterfactual_flip(model, X, sensitive="sex", proxies=["role"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"holds a single value .* pass values="):
        counterfactual_flip(model, X.assign(sex="F"), sensitive="sex")
    with pytest.raises(InvalidInputError, match="ci must be a confidence level"):
        counterfactual_flip(model, X, sensitive="sex", ci=95)
    with pytest.raises(InvalidInputError, match="has none of predict_proba, decision_function or predict"):
        counterfactual_flip(object(), X, sensitive="sex")
    with pytest.raises(InvalidInputError, match=r"outside \[0, 1\]"):
        counterfactual_flip(lambda rows: rows["income"].to_numpy() * 100, X, sensitive="sex")
    codes = np.column_stack([X["income"], (X["sex"] == "M").astype(float)])
    with pytest.raises(InvalidInputError, match=r"Ridge is a regressor, but a binary classifier is needed here"):
        counterfactual_flip(Ridge().fit(codes, X["income"]), codes, sensitive=1)


def test_what_if_reports_before_after_and_the_group_thresholds() -> None:
    X, y = _people()
    model = _model(["income", "sex"]).fit(X, y)
    row = X.iloc[[0]].assign(income=0.0, sex="F")
    result = what_if(model, row, {"sex": "M"})
    before, after = result.states["before"], result.states["after"]
    assert before["score"] == pytest.approx(model.predict_proba(row)[0, 1])
    assert after["score"] == pytest.approx(model.predict_proba(row.assign(sex="M"))[0, 1])
    assert after["score"] > before["score"]
    assert result.title == "What if: sex F → M"
    assert result.to_frame().loc["after", "sex"] == "M"
    json.dumps(result.to_dict())
    # A post-processor: the group follows the changed sensitive column, its thresholds are shown.
    post = ThresholdOptimizer(model, prefit=True, constraints="demographic_parity").fit(
        X, y, sensitive_features=X["sex"]
    )
    with_post = what_if(model, row, {"sex": "M", "income": 1.0}, post_processor=post)
    assert with_post.states["before"]["group"] == {"sex": "F"}
    assert with_post.states["after"]["group"] == {"sex": "M"}
    assert with_post.states["before"]["group_rule"].startswith("score > ")
    expected = post._pmf_predict(row, sensitive_features={"sex": ["F"]})[0, 1]
    assert with_post.states["before"]["post_processed_probability"] == pytest.approx(expected)
    assert "Group thresholds" in with_post.description
    # A dict row, and an array row with positions.
    assert what_if(lambda rows: rows["income"].clip(0, 1).to_numpy(), {"income": 0.2}, {"income": 0.9}).decision_changed
    array_row = what_if(LogisticRegression().fit(X[["income"]].to_numpy(), y), np.array([0.0]), {0: 3.0})
    assert array_row.states["after"]["score"] > array_row.states["before"]["score"]


def test_what_if_errors() -> None:
    X, y = _people(n=200)
    model = _model(["income", "sex"]).fit(X, y)
    with pytest.raises(InvalidInputError, match="changes must be a non-empty dict"):
        what_if(model, X.iloc[[0]], {})
    with pytest.raises(UnknownColumnError, match="changes='age' is not a column of X"):
        what_if(model, X.iloc[[0]], {"age": 40})
    with pytest.raises(InvalidInputError, match=r"exactly one row; got 2 rows .*X\.iloc\[\[i\]\]"):
        what_if(model, X.iloc[:2], {"income": 1.0})
    post = ThresholdOptimizer(model, prefit=True).fit(X, y, sensitive_features={"gender": X["sex"].to_numpy()})
    with pytest.raises(InvalidInputError, match="the row has no column 'gender'; pass sensitive_features="):
        what_if(model, X.iloc[[0]], {"income": 1.0}, post_processor=post)
    result = what_if(model, X.iloc[[0]], {"income": 1.0}, post_processor=post, sensitive_features={"gender": "M"})
    assert result.states["after"]["group"] == {"gender": "M"}
    with pytest.raises(InvalidInputError, match="was not seen when the post-processor was fitted"):
        what_if(model, X.iloc[[0]], {"income": 1.0}, post_processor=post, sensitive_features={"gender": "X"})


def test_group_aware_post_processor_is_probed_through_its_group_thresholds() -> None:
    X, y = _people()
    blind = _model(["income"]).fit(X, y)
    post = ThresholdOptimizer(blind, prefit=True, constraints="demographic_parity").fit(
        X, y, sensitive_features=X["sex"]
    )
    # The base model never reads sex, but the post-processor's thresholds depend on it.
    assert counterfactual_flip(blind, X, sensitive="sex").flip_rate == 0.0
    assert counterfactual_flip(post, X, sensitive="sex").flip_rate > 0.01


def test_probe_results_render_as_report_sections(tmp_path: Any) -> None:
    pytest.importorskip("jinja2")
    import fairwatch as fw

    X, y = _people(n=600)
    model = _model(["income", "sex"]).fit(X, y)
    flip = counterfactual_flip(model, X, sensitive="sex")
    change = what_if(model, X.iloc[[0]], {"income": 2.0})
    audit = fw.audit_model(model, X, y, sensitive_features="sex", threshold=0.4)
    html = audit.to_html(tmp_path / "report.html", explanations=[flip, change])
    assert "Counterfactual flip test: sex" in html
    assert "What if: income" in html
    assert "predict_proba &gt;= 0.4" in html or "predict_proba >= 0.4" in html


# -- continuous sensitive columns (issue 22, item 8) --------------------------------------------------------
def _ages(n: int = 400) -> tuple[pd.DataFrame, Any]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(size=n)})

    def older_approved(rows: Any) -> np.ndarray:  # approves anyone 50 or older
        return np.where(np.asarray(rows["age"]) >= 50, 0.9, 0.1)

    return X, older_approved


def test_a_continuous_column_is_refused_with_the_fix() -> None:
    X, model = _ages()
    distinct = X["age"].nunique()
    with pytest.raises(InvalidInputError) as raised:
        counterfactual_flip(model, X, sensitive="age")
    assert str(raised.value) == (
        f"sensitive column 'age' holds {distinct} distinct numbers: flipping every row to every other value would "
        f"make {distinct * (distinct - 1):,} pairs of groups. Pass bins= to group the rows (e.g. bins=4 for "
        f"quartiles, or edges such as bins=[18, 30, 45, 65, 100]): each row is then set to the median of every "
        f"other bin"
    )


def test_bins_group_a_numeric_column() -> None:
    X, model = _ages()
    result = counterfactual_flip(model, X, sensitive="age", bins=[18, 35, 50, 80])
    pairs = result.to_frame()
    assert list(pairs["original"].unique()) == ["[18, 35)", "[35, 50)", "[50, 80]"]
    assert len(pairs) == 6  # three bins, each row set to the median of the two others
    assert result.bins == [18.0, 35.0, 50.0, 80.0]
    medians = [
        int(np.percentile(X["age"][(X["age"] >= lo) & (X["age"] < hi)], 50, method="nearest"))
        for lo, hi in ((18, 35), (35, 50))
    ]
    assert result.values[:2] == medians and result.values[2] >= 50
    young_to_old = pairs[(pairs["original"] == "[18, 35)") & (pairs["counterfactual"] == result.values[2])].iloc[0]
    assert young_to_old["flip_rate"] == 1.0 and young_to_old["flips_to_positive"] == young_to_old["n"]
    assert "age was binned (3 bins, edges 18, 35, 50, 80)" in result.description
    assert result.to_dict()["bins"] == [18.0, 35.0, 50.0, 80.0]
    quartiles = counterfactual_flip(model, X, sensitive="age", bins=4)
    assert len(quartiles.to_frame()) == 12
    chosen = counterfactual_flip(model, X, sensitive="age", bins=[18, 50, 80], values=[30, 60])
    assert set(chosen.to_frame()["counterfactual"]) == {30, 60}


def test_bins_errors_name_the_fix() -> None:
    X, model = _ages()
    young = int((X["age"] < 25).sum())
    with pytest.raises(InvalidInputError, match=rf"{young} value\(s\) of sensitive column 'age' lie outside the bins"):
        counterfactual_flip(model, X, sensitive="age", bins=[25, 50, 80])
    with pytest.raises(InvalidInputError, match=r"bins= groups a numeric column, but sensitive column 'g' holds"):
        counterfactual_flip(model, X.assign(g=np.where(X["age"] > 50, "old", "young")), sensitive="g", bins=2)
    with pytest.raises(InvalidInputError, match=r"bins edges must be at least three increasing numbers"):
        counterfactual_flip(model, X, sensitive="age", bins=[18, 80])
    with pytest.raises(InvalidInputError, match=r"bins must be at least 2"):
        counterfactual_flip(model, X, sensitive="age", bins=1)
