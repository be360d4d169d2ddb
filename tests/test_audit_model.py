"""``fairwatch.audit_model``: the audit of a model equals ``audit`` on that model's own predictions,
for every kind of model (scikit-learn, pipelines, functions, torch modules), in batches or not;
bad models and bad outputs get errors that name the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

import fairwatch as fw
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, MissingDependencyError, UnknownColumnError


def _task(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    X = rng.normal(size=(n, 4)) + 0.7 * (group == "a")[:, None]
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=n) > 0.4).astype(np.int64)
    return X, y, group


def _same(result: fw.Audit, expected: fw.Audit) -> None:
    got = result.to_dict()
    got.pop("model")
    assert got == expected.to_dict()


def _expected(y: Any, pred: Any, group: Any, scores: Any = None, **kwargs: Any) -> fw.Audit:
    return fw.audit(y, pred, sensitive_features={"sensitive_feature_0": group}, scores=scores, **kwargs)


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        DecisionTreeClassifier(max_depth=4, random_state=0),
        make_pipeline(StandardScaler(), LogisticRegression(C=0.3)),
    ],
    ids=["logistic", "tree", "pipeline"],
)
@pytest.mark.parametrize("batch_size", [65_536, 97])
def test_sklearn_models_equal_audit_on_their_predictions(model: Any, batch_size: int) -> None:
    X, y, group = _task()
    model.fit(X, y)
    result = fw.audit_model(model, X, y, sensitive_features=group, ci=0.9, batch_size=batch_size)
    _same(result, _expected(y, model.predict(X), group, model.predict_proba(X)[:, 1], ci=0.9))
    assert result.model_info["decision"] == "predict"
    assert result.model_info["scores_from"] == "predict_proba"
    assert result.model_info["n_batches"] == -(-len(y) // batch_size)
    assert isinstance(result, fw.Audit)
    json.dumps(result.to_dict())


def test_threshold_is_applied_to_the_probability_and_recorded() -> None:
    X, y, group = _task()
    model = LogisticRegression().fit(X, y)
    proba = model.predict_proba(X)[:, 1]
    result = fw.audit_model(model, X, y, sensitive_features=group, threshold=0.3)
    _same(result, _expected(y, (proba >= 0.3).astype(int), group, proba))
    assert result.model_info["decision"] == "predict_proba >= 0.3"
    assert result.to_dict()["model"]["threshold"] == 0.3


def test_a_function_returning_probabilities_is_a_model_and_is_called_in_batches() -> None:
    X, y, group = _task()
    weights = np.array([1.0, -0.5, 0.0, 0.2])
    calls: list[int] = []

    def endpoint(rows: np.ndarray) -> list[float]:  # a remote model: plain lists come back
        calls.append(len(rows))
        return list(1.0 / (1.0 + np.exp(-(rows @ weights))))

    proba = 1.0 / (1.0 + np.exp(-(X @ weights)))
    result = fw.audit_model(endpoint, X, y, sensitive_features=group, batch_size=250)
    _same(result, _expected(y, (proba >= 0.5).astype(int), group, proba))
    assert calls == [250, 250, 100]
    assert result.model_info["decision"] == "call >= 0.5"


def test_a_torch_module_is_run_in_eval_mode_without_gradients() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    net.train()
    result = fw.audit_model(net, X, y, sensitive_features=group, batch_size=128)
    assert net.training  # the mode is restored
    net.eval()
    with torch.no_grad():
        proba = torch.sigmoid(net(torch.as_tensor(X, dtype=torch.float32))[:, 0]).double().numpy()
    _same(result, _expected(y, (proba >= 0.5).astype(int), group, proba))
    assert result.model_info["model"] == "torch:Sequential"
    # Two softmax outputs, and a module that already returns probabilities.
    two = torch.nn.Linear(4, 2)
    adapter = fw.TorchModelAdapter(torch.nn.Sequential(two, torch.nn.Softmax(dim=1)), output="probabilities")
    with torch.no_grad():
        expected = torch.softmax(two(torch.as_tensor(X, dtype=torch.float32)), dim=1)[:, 1].double().numpy()
    np.testing.assert_allclose(adapter.predict_proba(X)[:, 1], expected, rtol=1e-6)
    np.testing.assert_allclose(fw.TorchModelAdapter(two).predict_proba(X)[:, 1], expected, rtol=1e-6)


def test_dataframes_label_and_sensitive_columns_by_name() -> None:
    X, y, group = _task()
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"]).assign(group=group, label=y)
    encode = ColumnTransformer([("g", OneHotEncoder(), ["group"])], remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(frame.drop(columns="label"), y)
    result = fw.audit_model(model, frame, "label", sensitive_features="group", metrics=["selection_rate", "tpr"])
    features = frame.drop(columns="label")
    expected = fw.audit(
        y,
        model.predict(features),
        sensitive_features={"group": group},
        scores=model.predict_proba(features)[:, 1],
        metrics=["selection_rate", "tpr"],
    )
    _same(result, expected)
    # Polars in, the model reading Polars too.
    polars_frame = pl.from_pandas(frame)
    result_pl = fw.audit_model(
        lambda rows: model.predict_proba(rows.to_pandas())[:, 1],
        polars_frame,
        "label",
        sensitive_features=["group"],
        metrics=["selection_rate"],
        batch_size=200,
    )
    assert result_pl.summary.disparities["demographic_parity"].difference == pytest.approx(
        result.summary.disparities["demographic_parity"].difference
    )


def test_string_labels_and_pos_label() -> None:
    X, y, group = _task()
    labels = np.where(y == 1, "approve", "deny")
    model = LogisticRegression().fit(X, labels)  # classes_ = ['approve', 'deny']: 'deny' is classes_[1]
    result = fw.audit_model(model, X, labels, sensitive_features=group, pos_label="approve")
    proba = model.predict_proba(X)[:, 0]
    _same(result, _expected(labels, model.predict(X), group, proba, pos_label="approve"))
    with pytest.raises(InvalidInputError, match=r"pos_label='yes' is not one of LogisticRegression.classes_"):
        fw.audit_model(model, X, labels, sensitive_features=group, pos_label="yes")


def test_decision_function_only_model() -> None:
    X, y, group = _task()
    model = LinearSVC().fit(X, y)
    result = fw.audit_model(model, X, y, sensitive_features=group)
    _same(result, _expected(y, model.predict(X), group))  # margins are not probabilities: no score metrics
    cut = fw.audit_model(model, X, y, sensitive_features=group, threshold=-0.2)
    _same(cut, _expected(y, (model.decision_function(X) >= -0.2).astype(int), group))


def test_marginal_keeps_the_model_record() -> None:
    X, y, group = _task()
    model = LogisticRegression().fit(X, y)
    other = np.where(X[:, 3] > 0, "x", "y")
    result = fw.audit_model(model, X, y, sensitive_features={"g": group, "h": other}, metrics=["selection_rate"])
    assert result.marginal("g").to_dict()["model"] == result.model_info
    assert "decision='predict'" in repr(result)


class _NoPredict:
    pass


class _Proba:
    def __init__(self, output: Any) -> None:
        self.output = output

    def predict_proba(self, X: Any) -> Any:  # noqa: N803
        return self.output(X)


def test_bad_models_and_outputs_name_the_fix() -> None:
    X, y, group = _task(n=50)
    with pytest.raises(InvalidInputError, match="has none of predict_proba, decision_function or predict"):
        fw.audit_model(_NoPredict(), X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="model is None"):
        fw.audit_model(None, X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"outside \[0, 1\].*Apply a sigmoid"):
        fw.audit_model(lambda rows: rows[:, 0] * 10, X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"shape \(50, 3\).*one score per row"):
        fw.audit_model(_Proba(lambda rows: np.full((len(rows), 3), 0.3)), X, y, sensitive_features=group)
    with pytest.raises(LengthMismatchError, match="returned 49 values for 50 rows"):
        fw.audit_model(lambda rows: np.full(len(rows) - 1, 0.5), X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="non-finite"):
        fw.audit_model(lambda rows: np.full(len(rows), np.nan), X, y, sensitive_features=group)
    with pytest.raises(LengthMismatchError, match="X has 50 rows, y has 49"):
        fw.audit_model(lambda rows: np.full(len(rows), 0.5), X, y[:-1], sensitive_features=group)
    with pytest.raises(InvalidInputError, match="batch_size must be a positive integer"):
        fw.audit_model(lambda rows: np.full(len(rows), 0.5), X, y, sensitive_features=group, batch_size=0)
    with pytest.raises(InvalidInputError, match="audit_model computes y_pred itself"):
        fw.audit_model(lambda rows: np.full(len(rows), 0.5), X, y, sensitive_features=group, y_pred=y)
    frame = pd.DataFrame(X).add_prefix("f").assign(label=y)
    with pytest.raises(UnknownColumnError, match="y='income' is not a column of X"):
        fw.audit_model(lambda rows: np.full(len(rows), 0.5), frame, "income", sensitive_features=group)
    with pytest.raises(InvalidInputError, match="names columns, but X is not a dataframe"):
        fw.audit_model(lambda rows: np.full(len(rows), 0.5), X, y, sensitive_features="sex")
    multi = LogisticRegression().fit(X, group)
    with pytest.raises(InvalidInputError, match=r"binary classifiers.*3 classes"):
        fw.audit_model(multi, X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"threshold=0\.5 needs scores"):

        class _LabelsOnly:
            def predict(self, X: Any) -> Any:  # noqa: N803
                return np.zeros(len(X), dtype=int)

        fw.audit_model(_LabelsOnly(), X, y, sensitive_features=group, threshold=0.5)


def test_torch_adapter_errors() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=40)
    with pytest.raises(InvalidInputError, match=r"shape \(40, 3\).*one output per row"):
        fw.audit_model(torch.nn.Linear(4, 3), X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"outside \[0, 1\]"):
        fw.audit_model(
            fw.TorchModelAdapter(torch.nn.Linear(4, 1), output="probabilities"), X * 100, y, sensitive_features=group
        )
    with pytest.raises(InvalidInputError, match=r"wraps a torch\.nn\.Module"):
        fw.TorchModelAdapter(LogisticRegression())
    with pytest.raises(InvalidInputError, match="numeric features"):
        fw.TorchModelAdapter(torch.nn.Linear(1, 1)).predict_proba(np.array([["a"], ["b"]]))


_WITHOUT_TORCH = """
import sys
import fairwatch, fairwatch.mitigation, fairwatch.probes
print("torch imported:", "torch" in sys.modules)


class _NoTorch:  # makes `import torch` fail as if it were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return None


sys.meta_path.insert(0, _NoTorch())
from fairwatch.exceptions import MissingDependencyError

for attempt in (
    lambda: fairwatch.TorchModelAdapter(object()),
    lambda: fairwatch.mitigation.FairnessRegularizedClassifier,
    lambda: fairwatch.mitigation.demographic_parity_penalty,
):
    try:
        attempt()
    except MissingDependencyError as exc:
        print(exc)
"""


def test_importing_fairwatch_does_not_import_torch_and_missing_torch_names_the_extra() -> None:
    out = subprocess.run([sys.executable, "-c", _WITHOUT_TORCH], capture_output=True, text=True, check=False)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "torch imported: False", out.stdout + out.stderr
    assert len(lines) == 4, out.stdout + out.stderr
    assert all("needs PyTorch, which is not installed: pip install 'fairwatch[torch]'" in line for line in lines[1:])
    assert issubclass(MissingDependencyError, ImportError)


# ---------------------------------------------------------------------------------------------
# fairwatch audit-model (CLI)
# ---------------------------------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from fairwatch.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame, Any]:
    import joblib

    X, y, group = _task()
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"]).assign(group=group, label=y)
    model = LogisticRegression().fit(frame[["f0", "f1", "f2", "f3"]], y)  # feature_names_in_: group is not read
    folder = tmp_path_factory.mktemp("audit_model")
    joblib.dump(model, folder / "model.joblib")
    frame.to_parquet(folder / "data.parquet")
    return folder / "model.joblib", folder / "data.parquet", frame, model


def test_cli_audit_model_json_equals_the_library(saved: Any, capsys: pytest.CaptureFixture[str]) -> None:
    model_path, data_path, frame, model = saved
    argv = ["audit-model", str(model_path), str(data_path), "--label", "label", "--sensitive", "group"]
    code, out, _ = _run([*argv, "--format", "json", "--threshold", "0.4", "--ci", "0.9"], capsys)
    assert code == 0
    expected = fw.audit_model(
        model,
        frame[["f0", "f1", "f2", "f3"]],
        frame["label"].to_numpy(),
        sensitive_features={"group": frame["group"].to_numpy()},
        threshold=0.4,
        ci=0.9,
    )
    assert json.loads(out) == json.loads(json.dumps(expected.to_dict()))
    code, out, err = _run([*argv, "--fail-if", "demographic_parity_difference > 0.05"], capsys)
    assert code == 1
    assert "model LogisticRegression, decision predict" in err


def test_cli_audit_model_torch_and_drop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=200)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"]).assign(group=group, label=y)
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 1)
    torch.save(net, tmp_path / "net.pt")
    frame.to_csv(tmp_path / "data.csv", index=False)
    argv = ["audit-model", str(tmp_path / "net.pt"), str(tmp_path / "data.csv"), "--label", "label"]
    code, out, _ = _run([*argv, "--sensitive", "group", "--drop", "group", "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["model"]["model"] == "torch:Linear"


def test_cli_audit_model_errors(saved: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_path, data_path, _, _ = saved
    cases = {
        "does not exist": [
            "audit-model",
            str(tmp_path / "none.joblib"),
            str(data_path),
            "--label",
            "label",
            "--sensitive",
            "group",
        ],
        "must be a .joblib/.pkl file": [
            "audit-model",
            str(data_path),
            str(data_path),
            "--label",
            "label",
            "--sensitive",
            "group",
        ],
        "--label column 'y' is not in DATA": [
            "audit-model",
            str(model_path),
            str(data_path),
            "--label",
            "y",
            "--sensitive",
            "group",
        ],
        "--sensitive column 'sex' is not in DATA": [
            "audit-model",
            str(model_path),
            str(data_path),
            "--label",
            "label",
            "--sensitive",
            "sex",
        ],
    }
    for message, argv in cases.items():
        code, _, err = _run(argv, capsys)
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) == 1
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"not a pickle")
    code, _, err = _run(
        ["audit-model", str(broken), str(data_path), "--label", "label", "--sensitive", "group"], capsys
    )
    assert code == 2
    assert "cannot load MODEL" in err


def test_group_aware_post_processor_gets_the_sensitive_features_batch_by_batch() -> None:
    from fairwatch.mitigation import ThresholdOptimizer

    X, y, group = _task()
    post = ThresholdOptimizer(LogisticRegression(), constraints="demographic_parity").fit(
        X, y, sensitive_features=group
    )
    result = fw.audit_model(post, X, y, sensitive_features=group, batch_size=128)
    pred = post.predict(X, sensitive_features=group, random_state=0)  # randomised: audited with random_state=0
    assert result.model_info["decision"] == "predict"
    batched = np.concatenate(
        [
            post.predict(X[a : a + 128], sensitive_features=group[a : a + 128], random_state=0)
            for a in range(0, 600, 128)
        ]
    )
    _same(result, _expected(y, batched, group))
    assert abs(result.summary.disparities["demographic_parity"].difference) < 0.05
    assert len(pred) == len(y)


def test_torch_module_with_string_labels() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=100)
    labels = np.where(y == 1, "yes", "no")
    net = torch.nn.Linear(4, 1)
    result = fw.audit_model(net, X, labels, sensitive_features=group, metrics=["selection_rate"])
    proba = fw.TorchModelAdapter(net).predict_proba(X)[:, 1]
    _same(
        result,
        _expected(
            labels, np.where(proba >= 0.5, "yes", "no"), group, proba, metrics=["selection_rate"], pos_label="yes"
        ),
    )
    assert result.model_info["decision"] == "predict_proba >= 0.5"
