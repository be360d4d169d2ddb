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
from sklearn.linear_model import LogisticRegression, Ridge
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


# ---------------------------------------------------------------------------------------------
# What a torch module returns: probabilities, log-probabilities or logits (issue 22, item 1)
# ---------------------------------------------------------------------------------------------


def _toy(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two features, two groups; the label follows the group (the issue's two-feature toy)."""
    rng = np.random.default_rng(3)
    group = rng.choice(np.array(["a", "b"]), size=n)
    X = np.column_stack([(group == "a") + rng.normal(scale=0.3, size=n), rng.normal(size=n)]).astype(np.float32)
    y = ((group == "a") ^ (rng.random(n) < 0.05)).astype(np.int64)
    return X, y, group


def _bce_net(torch: Any, X: np.ndarray, y: np.ndarray) -> Any:  # noqa: N803
    """A module ending in Sigmoid, trained with BCELoss: the most common way to write a classifier."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1), torch.nn.Sigmoid())
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    features, labels = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float32)[:, None]
    for _ in range(150):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy(net(features), labels).backward()
        optimiser.step()
    return net


def _net_proba(torch: Any, net: Any, X: np.ndarray) -> np.ndarray:  # noqa: N803
    with torch.no_grad():
        out = net(torch.as_tensor(X, dtype=torch.float32))
    return np.asarray(out.reshape(len(X), -1)[:, -1].double().numpy())


def test_a_module_ending_in_sigmoid_is_not_squashed_twice() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _toy()
    net = _bce_net(torch, X, y)
    proba = _net_proba(torch, net, X)
    own = fw.audit(y, (proba >= 0.5).astype(int), sensitive_features=group, scores=proba)
    assert own.summary.disparities["demographic_parity"].difference > 0.9  # the model's own gap
    result = fw.audit_model(net, X, y, sensitive_features=group)
    rates = result.summary.values["selection_rate"]
    assert rates.tolist() != [1.0, 1.0], "a second sigmoid puts every probability above 0.5"
    expected = _expected(y, (proba >= 0.5).astype(int), group, proba)
    _same(result, expected)
    assert result.model_info["torch_output"] == "probabilities (last layer Sigmoid)"
    # In batches, and wrapped by hand: the same audit.
    _same(fw.audit_model(net, X, y, sensitive_features=group, batch_size=64), expected)
    adapter = fw.TorchModelAdapter(net, batch_size=50)
    np.testing.assert_allclose(adapter.predict_proba(X)[:, 1], proba, rtol=1e-6)
    assert (adapter.output_, adapter.output_reason_) == ("probabilities", "last layer Sigmoid")


class _Forward:
    """A module whose forward is a function: what a custom ``forward`` does is invisible from outside."""

    def __new__(cls, torch: Any, forward: Any, *layers: Any) -> Any:
        class Custom(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = torch.nn.ModuleList(layers)

            def forward(self, x: Any) -> Any:
                return forward(x, *self.layers)

        return Custom()


def _linear(torch: Any, n_in: int, n_out: int) -> Any:
    torch.manual_seed(0)
    return torch.nn.Linear(n_in, n_out)


def _small_linear(torch: Any) -> Any:
    """A Linear whose outputs on ``_task`` data all lie in [0, 1] (near 0.5)."""
    layer = torch.nn.Linear(4, 1)
    with torch.no_grad():
        layer.weight.fill_(0.01)
        layer.bias.fill_(0.5)
    return layer


def _sigmoid(t: Any, raw: Any) -> Any:
    return t.sigmoid(raw[:, 0])


@pytest.mark.parametrize(
    "build, read, reason",
    [
        (
            lambda t: t.nn.Sequential(_linear(t, 4, 2), t.nn.Softmax(dim=1)),
            lambda t, raw: raw[:, 1],
            "probabilities (last layer Softmax)",
        ),
        (
            lambda t: t.nn.Sequential(_linear(t, 4, 2), t.nn.LogSoftmax(dim=1)),
            lambda t, raw: raw.exp()[:, 1],
            "log_probabilities (last layer LogSoftmax)",
        ),
        (
            lambda t: t.nn.Sequential(_linear(t, 4, 1), t.nn.LogSigmoid()),
            lambda t, raw: raw[:, 0].exp(),
            "log_probabilities (last layer LogSigmoid)",
        ),
        # Reshaping after the Sigmoid leaves its values as they are.
        (
            lambda t: t.nn.Sequential(_linear(t, 4, 1), t.nn.Sigmoid(), t.nn.Flatten(0)),
            lambda t, raw: raw,
            "probabilities (last layer Sigmoid)",
        ),
        # A tiny Linear whose logits all lie in [0, 1]: its own output is a logit all the same.
        (_small_linear, _sigmoid, "logits (last layer Linear)"),
        # The last *registered* layer is a Sigmoid gate, but the Linear runs last.
        (
            lambda t: _Forward(t, lambda x, out, gate: out(gate(x) * x), _small_linear(t), t.nn.Sigmoid()),
            _sigmoid,
            "logits (last layer Linear)",
        ),
        # A forward ending in a function: told apart by values outside [0, 1].
        (
            lambda t: _Forward(t, lambda x, layer: 3.0 * layer(x), _linear(t, 4, 1)),
            _sigmoid,
            "logits (values outside [0, 1])",
        ),
    ],
    ids=["softmax", "log-softmax", "log-sigmoid", "flattened", "small-linear", "gate-registered-last", "functional"],
)
def test_the_output_kind_is_read_from_the_last_layer_or_the_values(build: Any, read: Any, reason: str) -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=300)
    module = build(torch)
    with torch.no_grad():  # in the same batches: float32 sums depend on the batch shape
        rows = [torch.as_tensor(X[a : a + 100], dtype=torch.float32) for a in range(0, len(X), 100)]
        expected = np.concatenate([read(torch, module(batch)).double().numpy() for batch in rows])
    result = fw.audit_model(module, X, y, sensitive_features=group, batch_size=100)
    _same(result, _expected(y, (expected >= 0.5).astype(int), group, expected))
    assert result.model_info["torch_output"] == reason


def test_torch_outputs_that_cannot_be_told_apart_are_asked_about() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _toy()
    net = _bce_net(torch, X, y)
    # forward ends in torch.sigmoid: no layer says so, and every value is in [0, 1]
    hidden = _Forward(torch, lambda x, body: torch.sigmoid(body(x)), net[:3])
    with pytest.raises(
        InvalidInputError,
        match=r"Custom returned values in \[.*\], all inside \[0, 1\], and forward changes what its last layer "
        r"\(Linear\) returns: fairwatch cannot tell.*output='probabilities'.*output='logits'",
    ):
        fw.audit_model(hidden, X, y, sensitive_features=group)
    told = fw.audit_model(fw.TorchModelAdapter(hidden, output="probabilities"), X, y, sensitive_features=group)
    proba = _net_proba(torch, net, X)
    _same(told, _expected(y, (proba >= 0.5).astype(int), group, proba))
    assert told.model_info["torch_output"] == "probabilities (output='probabilities')"


class _OwnWeights:
    """A module with parameters but no layers: nothing tells what its forward returns."""

    def __new__(cls, torch: Any) -> Any:
        class Bare(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.weight = torch.nn.Parameter(torch.full((4,), 0.01))

            def forward(self, x: Any) -> Any:
                return x @ self.weight + 0.5

        return Bare()


@pytest.mark.parametrize(
    "build, note",
    [
        (
            lambda t: t.nn.Sequential(t.nn.Linear(4, 1), t.nn.Hardsigmoid()),
            r"its last layer \(Hardsigmoid\) does not say",
        ),
        (_OwnWeights, "no layer says what they are"),
    ],
    ids=["hardsigmoid", "no-layers"],
)
def test_every_unreadable_module_is_asked_about(build: Any, note: str) -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=100)
    with pytest.raises(
        InvalidInputError, match=rf"returned values in .*, all inside \[0, 1\], and {note}.*cannot tell"
    ):
        fw.audit_model(build(torch), X, y, sensitive_features=group)


def test_torch_outputs_that_are_not_numbers_or_not_a_tensor() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=40)
    with pytest.raises(InvalidInputError, match=r"Custom returned NaN outputs; fix the model"):
        fw.audit_model(
            _Forward(torch, lambda x, layer: layer(x) * float("nan"), _linear(torch, 4, 1)),
            X,
            y,
            sensitive_features=group,
        )
    with pytest.raises(InvalidInputError, match=r"Custom\.forward must return a tensor; got tuple"):
        fw.audit_model(
            _Forward(torch, lambda x, layer: (layer(x),), _linear(torch, 4, 1)), X, y, sensitive_features=group
        )


def test_explicit_output_contradicting_the_last_layer_is_refused() -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _toy()
    net = _bce_net(torch, X, y)
    with pytest.raises(InvalidInputError, match=r"output='logits'.*last layer is Sigmoid.*output='probabilities'"):
        fw.audit_model(fw.TorchModelAdapter(net, output="logits"), X, y, sensitive_features=group)
    log_softmax = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LogSoftmax(dim=1))
    with pytest.raises(
        InvalidInputError, match=r"output='probabilities'.*last layer is LogSoftmax.*output='log_probabilities'"
    ):
        fw.TorchModelAdapter(log_softmax, output="probabilities").predict_proba(X)
    # log-softmax outputs are logits of the same softmax: output='logits' reads them right
    np.testing.assert_allclose(
        fw.TorchModelAdapter(log_softmax, output="logits").predict_proba(X),
        fw.TorchModelAdapter(log_softmax).predict_proba(X),
        rtol=1e-6,
    )
    with pytest.raises(InvalidInputError, match=r"output must be one of 'auto', 'logits', 'probabilities'"):
        fw.TorchModelAdapter(net, output="scores")


def test_a_later_batch_contradicting_the_first_is_refused() -> None:
    torch = pytest.importorskip("torch")
    X, _, _ = _task(n=300)
    calls: list[int] = []
    sigmoid = torch.nn.Sigmoid()

    def first_call_only(x: Any, layer: Any, squash: Any) -> Any:  # a forward whose last step changes
        calls.append(len(x))
        return squash(layer(x)) if len(calls) == 1 else layer(x)

    module = _Forward(torch, first_call_only, _linear(torch, 4, 1), sigmoid)
    with pytest.raises(
        InvalidInputError,
        match=r"rows 100-199.*outside \[0, 1\].*read as probabilities \(last layer Sigmoid\) from the first batch.*"
        r"output='logits'",
    ):
        fw.TorchModelAdapter(module, batch_size=100).predict_proba(X)


# ---------------------------------------------------------------------------------------------
# Regressors get the regression audit (issue 22, item 2)
# ---------------------------------------------------------------------------------------------


def _regression_task(n: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    group = rng.choice(np.array(["a", "b"]), size=n, p=[0.6, 0.4])
    X = rng.normal(size=(n, 3)) + 0.5 * (group == "a")[:, None]
    target = 2.0 * X[:, 0] - X[:, 1] + rng.normal(scale=0.5, size=n) + 1.0 * (group == "b")
    return X, target, group


@pytest.mark.parametrize("batch_size", [65_536, 128])
def test_a_regressor_gets_the_regression_audit(batch_size: int) -> None:
    X, target, group = _regression_task()
    model = Ridge().fit(X, target)
    expected = fw.audit(target, model.predict(X), sensitive_features=group)
    result = fw.audit_model(model, X, target, sensitive_features=group, batch_size=batch_size)
    _same(result, expected)
    pd.testing.assert_frame_equal(result.by_group, expected.by_group)
    assert "mean_absolute_error" in result.metrics
    assert result.model_info["task"] == "regression"
    assert result.model_info["decision"] == "predict"
    assert result.model_info["scores_from"] is None
    # A pipeline ending in a regressor, on a 0/1 target (a linear probability model): still a regressor.
    binary = (target > 1).astype(int)
    pipeline = make_pipeline(StandardScaler(), Ridge()).fit(X, binary)
    _same(
        fw.audit_model(pipeline, X, binary, sensitive_features=group),
        fw.audit(binary, pipeline.predict(X), sensitive_features=group),
    )


class _ValuesOnly:
    """A model with only ``predict`` that does not say what it is (no classes_, no estimator type)."""

    def __init__(self, coef: np.ndarray) -> None:
        self.coef = coef

    def predict(self, X: Any) -> Any:  # noqa: N803
        return np.asarray(X) @ self.coef


def test_a_continuous_target_with_a_predict_only_model_is_a_regression() -> None:
    X, target, group = _regression_task()
    model = _ValuesOnly(np.array([2.0, -1.0, 0.0]))
    result = fw.audit_model(model, X, target, sensitive_features=group, metrics=["mean_absolute_error", "mean_error"])
    _same(
        result,
        fw.audit(target, model.predict(X), sensitive_features=group, metrics=["mean_absolute_error", "mean_error"]),
    )
    assert result.model_info["task"] == "regression"


def test_regression_errors_name_the_fix() -> None:
    X, target, group = _regression_task(n=60)
    ridge = Ridge().fit(X, target)
    with pytest.raises(InvalidInputError, match=r"threshold=0\.5.*Ridge is a regressor.*fairwatch\.audit\(y, "):
        fw.audit_model(ridge, X, target, sensitive_features=group, threshold=0.5)
    with pytest.raises(InvalidInputError, match=r"pos_label=1.*Ridge is a regressor.*drop pos_label"):
        fw.audit_model(ridge, X, target, sensitive_features=group, pos_label=1)
    with pytest.raises(InvalidInputError, match=r"_ValuesOnly\.predict returned non-finite predictions"):
        fw.audit_model(_ValuesOnly(np.array([np.nan, 0.0, 0.0])), X, target, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"_Labels\.predict returned non-numeric values.*predicts numbers"):

        class _Labels(Ridge):
            def predict(self, X: Any) -> Any:  # noqa: N803
                return np.full(len(X), "high")

        fw.audit_model(_Labels().fit(X, target), X, target, sensitive_features=group)
    classifier = LogisticRegression().fit(X, (target > 1).astype(int))
    with pytest.raises(
        InvalidInputError, match=r"y holds 60 distinct values.*LogisticRegression is a binary classifier.*regressor"
    ):
        fw.audit_model(classifier, X, target, sensitive_features=group)


def test_cli_audit_model_of_a_saved_regressor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import joblib

    X, target, group = _regression_task()
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"]).assign(group=group, target=target)
    model = Ridge().fit(frame[["f0", "f1", "f2"]], target)
    joblib.dump(model, tmp_path / "ridge.joblib")
    frame.to_parquet(tmp_path / "data.parquet")
    argv = ["audit-model", str(tmp_path / "ridge.joblib"), str(tmp_path / "data.parquet"), "--label", "target"]
    code, out, _ = _run([*argv, "--sensitive", "group", "--format", "json"], capsys)
    assert code == 0
    expected = fw.audit(target, model.predict(frame[["f0", "f1", "f2"]]), sensitive_features={"group": group})
    got = json.loads(out)
    assert got.pop("model")["task"] == "regression"
    assert got == json.loads(json.dumps(expected.to_dict()))


def test_cli_audit_model_model_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    X, y, group = _task(n=200)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"]).assign(group=group, label=y)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Hardsigmoid())  # says nothing about its outputs
    torch.save(net, tmp_path / "net.pt")
    frame.to_csv(tmp_path / "data.csv", index=False)
    argv = ["audit-model", str(tmp_path / "net.pt"), str(tmp_path / "data.csv"), "--label", "label"]
    argv += ["--sensitive", "group", "--drop", "group", "--format", "json"]
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert "cannot tell probabilities from logits" in err and "--model-output" in err
    code, out, _ = _run([*argv, "--model-output", "probabilities"], capsys)
    assert code == 0
    got = json.loads(out)
    assert got["model"]["torch_output"] == "probabilities (output='probabilities')"
    expected = fw.audit_model(
        fw.TorchModelAdapter(net, output="probabilities"),
        frame[["f0", "f1", "f2", "f3"]],
        y,
        sensitive_features={"group": group},
    )
    assert got == json.loads(json.dumps(expected.to_dict()))
    code, _, err = _run([*argv, "--model-output", "scores"], capsys)
    assert code == 2
    assert "--model-output must be one of auto, logits, probabilities, log_probabilities; got 'scores'" in err


def test_cli_model_output_is_for_torch_modules_only(saved: Any, capsys: pytest.CaptureFixture[str]) -> None:
    model_path, data_path, _, _ = saved
    argv = ["audit-model", str(model_path), str(data_path), "--label", "label", "--sensitive", "group"]
    code, _, err = _run([*argv, "--model-output", "logits"], capsys)
    assert code == 2
    assert "--model-output logits is for torch modules, but MODEL holds a LogisticRegression" in err


def test_audit_model_suppresses_small_groups_by_default() -> None:
    """audit_model shares fairwatch.audit's default minimum group size (issue 22, item 3)."""
    from sklearn.dummy import DummyClassifier

    X = np.zeros((213, 1))
    y = np.array([1, 0] * 100 + [1] * 13)
    groups = np.array(["a"] * 100 + ["b"] * 100 + ["small"] * 13)
    model = DummyClassifier(strategy="most_frequent").fit(X, y)
    result = fw.audit_model(model, X, y, sensitive_features=groups, metrics=["selection_rate"])
    assert result.summary.min_group_size == fw.DEFAULT_MIN_GROUP_SIZE
    assert result.to_dict()["suppressed_share"] == pytest.approx(13 / 213)
    every = fw.audit_model(model, X, y, sensitive_features=groups, metrics=["selection_rate"], min_group_size=0)
    assert every.summary.min_group_size == 0
