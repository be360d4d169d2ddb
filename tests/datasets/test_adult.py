from __future__ import annotations

import gzip
import hashlib

from fairwatch.datasets import ADULT_COLUMNS, adult_path, load_adult

# sha256 of the original CSV, from the licence note shipped next to it.
ADULT_SHA256 = "f2c62076f19504d99a38b22badf445a7f42530ade6b827acf78dd143fbce38bb"


def test_bundled_file_is_the_original() -> None:
    with gzip.open(adult_path(), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == ADULT_SHA256


def test_licence_note_ships_with_the_data() -> None:
    note = adult_path().with_name("README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in note
    assert ADULT_SHA256 in note


def test_load_adult() -> None:
    df = load_adult()
    assert df.shape == (32561, 15)
    assert tuple(df.columns) == ADULT_COLUMNS
    assert set(df["income"].unique()) == {"<=50K", ">50K"}
    assert df["workclass"].isna().sum() == 1836  # '?' becomes missing


def test_load_adult_keeps_unknowns_as_a_category() -> None:
    df = load_adult(missing="unknown")
    assert df["workclass"].isna().sum() == 0
    assert (df["workclass"] == "unknown").sum() == 1836
