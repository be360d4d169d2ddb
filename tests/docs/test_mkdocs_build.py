"""``mkdocs build --strict`` passes offline: every page, link and API reference (mkdocstrings reads
the docstrings of the package) resolves, and the site loads nothing from other origins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Seconds the build may take (it takes about 5 s on the project's machine).
BUILD_BUDGET = 60.0


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", ROOT / "mkdocs.yml", "--site-dir", site],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert elapsed < BUILD_BUDGET, f"the docs build took {elapsed:.0f} s"

    for page in ("index.html", "quickstart/index.html", "migration/index.html", "guides/metrics/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "fairwatch" / "index.html").read_text(encoding="utf-8")
    assert "min_group_size" in api, "the API reference was not generated from the docstrings"
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not external, f"{html.relative_to(site)} loads {external[:3]}"
        assert "fonts.googleapis.com" not in text, html
