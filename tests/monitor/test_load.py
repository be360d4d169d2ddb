"""Sustained ingest with concurrent metric queries against a live server (``benchmarks/load.py``, CI-sized).

The benchmark itself runs 60 s at the ingest benchmark's rate; here the same code runs a few seconds at
a rate a busy CI machine sustains, and checks what must hold at any size: no error, and every event
acknowledged is stored (counted after the server has stopped).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fairwatch_load_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # a live server loaded for 5 s (~10 s in all)
def test_sustained_ingest_with_queries_has_no_error_and_stores_what_it_acknowledged(tmp_path: Path) -> None:
    load = _load_benchmark()
    result = load.run_load(
        f"duckdb://{tmp_path / 'load.duckdb'}",
        seconds=5.0,
        rate=5_000.0,
        batch=1_000,
        ingest_clients=2,
        query_clients=1,
        query_pause=0.2,
        log=tmp_path / "server.log",
    )
    assert result.ingest["errors"] == 0, result.ingest["first_errors"]
    assert result.queries["errors"] == 0, result.queries["first_errors"]
    assert result.drift["errors"] == 0, result.drift["first_errors"]
    assert result.acknowledged == result.ingest["requests"] * 1_000 > 0
    assert result.stored == result.acknowledged
    assert result.queries["requests"] >= 1
    assert result.ingest["p99_ms"] > 0
