"""Input of the command line: tables from CSV, TSV or Parquet files, globs and folders, scanned by an
engine, and the shared parsing of list options."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from fairwatch._text import comma_list
from fairwatch.exceptions import InvalidInputError, MissingDependencyError

__all__ = [
    "default_engine",
    "file_format",
    "positive_label",
    "read_table",
    "resolve_files",
    "scan_files",
    "split_values",
]


def read_table(path: Path) -> Any:
    """Read a CSV or Parquet file into a pyarrow Table."""
    if not path.exists():
        raise InvalidInputError(f"FILE {str(path)!r} does not exist")
    if path.is_dir():
        raise InvalidInputError(f"FILE {str(path)!r} is a directory; give a CSV or Parquet file")
    suffixes = "".join(path.suffixes).lower()
    try:
        if ".parquet" in suffixes or suffixes.endswith(".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if ".csv" in suffixes or ".txt" in suffixes or ".tsv" in suffixes:
            import pyarrow.csv as pacsv

            delimiter = "\t" if ".tsv" in suffixes else ","
            return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise InvalidInputError(f"cannot read {str(path)!r}: {first_line(exc)}") from None
    raise InvalidInputError(f"FILE {str(path)!r} must be a .csv, .tsv or .parquet file (got {suffixes or 'no suffix'})")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def file_format(path: str) -> str:
    """``"parquet"``, ``"csv"`` or ``"tsv"`` from a file name."""
    suffixes = "".join(Path(path).suffixes).lower()
    if ".parquet" in suffixes or suffixes.endswith(".pq"):
        return "parquet"
    if ".tsv" in suffixes:
        return "tsv"
    if ".csv" in suffixes or ".txt" in suffixes:
        return "csv"
    raise InvalidInputError(f"FILE {path!r} must be a .csv, .tsv or .parquet file (got {suffixes or 'no suffix'})")


def resolve_files(patterns: list[str]) -> tuple[list[str], str]:
    """Expand FILE arguments (files, globs, directories of Parquet/CSV files) and find their format.

    URLs (``s3://...``, ``hdfs://...``) are passed to the engine unchanged.
    """
    files: list[str] = []
    for pattern in patterns:
        if "://" in pattern:
            files.append(pattern)
        elif glob.has_magic(pattern):
            matches = sorted(m for m in glob.glob(pattern, recursive=True) if Path(m).is_file())
            if not matches:
                raise InvalidInputError(f"FILE pattern {pattern!r} matches no file")
            files.extend(matches)
        elif Path(pattern).is_dir():
            inside = sorted(
                str(p)
                for p in Path(pattern).rglob("*")
                if p.is_file()
                and not p.name.startswith(("_", "."))
                and p.suffix.lower() in (".parquet", ".csv", ".tsv")
            )
            if not inside:
                raise InvalidInputError(f"FILE {pattern!r} is a directory without .parquet, .csv or .tsv files")
            files.extend(inside)
        elif not Path(pattern).exists():
            raise InvalidInputError(f"FILE {pattern!r} does not exist")
        else:
            files.append(pattern)
    formats = sorted({file_format(f) for f in files})
    if len(formats) > 1:
        raise InvalidInputError(f"FILE arguments mix formats ({', '.join(formats)}); give files of one format")
    return files, formats[0]


def is_engine_error(exc: BaseException) -> bool:
    """True for errors raised inside an engine (a bad file, a failed Spark job, no Java, ...)."""
    module = type(exc).__module__.split(".")[0]
    return module in ("duckdb", "_duckdb", "polars", "pyspark", "py4j", "pyarrow")


def scan_files(files: list[str], file_format: str, engine: str) -> Any:
    """A dataframe over ``files``: lazy (rows stay in the engine) except for ``engine="numpy"``."""
    delimiter = "\t" if file_format == "tsv" else ","
    try:
        if engine == "numpy":
            import pyarrow as pa

            tables = [read_table(Path(f)) for f in files]
            return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        if engine == "duckdb":
            import duckdb

            connection = duckdb.connect()
            if file_format == "parquet":
                return connection.read_parquet(files)
            return connection.read_csv(files, delimiter=delimiter, header=True)
        if engine == "polars":
            import polars as pl

            if file_format == "parquet":
                return pl.scan_parquet(files)
            return pl.scan_csv(files, separator=delimiter)
        from pyspark.sql import SparkSession

        # The master comes from spark-submit, spark-defaults.conf or PYSPARK_SUBMIT_ARGS
        # (e.g. "--master spark://host:7077 pyspark-shell"); pyspark's default is local[*].
        spark = SparkSession.builder.appName("fairwatch audit").config("spark.ui.showConsoleProgress", "false")
        session = spark.getOrCreate()
        if file_format == "parquet":
            return session.read.parquet(*files)
        return session.read.csv(files, header=True, inferSchema=True, sep=delimiter)
    except ImportError:
        package = {"duckdb": "duckdb", "polars": "polars", "spark": "pyspark"}.get(engine, engine)
        raise MissingDependencyError(f"--engine {engine} needs {package}: pip install {package}") from None
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        raise InvalidInputError(
            f"cannot read {files[0]!r}{' and more' if len(files) > 1 else ''} with {engine}: {first_line(exc)}"
        ) from None


def split_values(values: list[str] | None) -> list[str]:
    """Items of a repeatable, comma-separated option (``--sensitive sex,race --sensitive age``)."""
    return [item for value in values or [] for item in comma_list(value)]


def positive_label(data: Any, column: str, raw: str | None) -> Any:
    """Cast ``--pos-label`` to the label column's type (CSV labels may be numbers or booleans)."""
    if raw is None:
        return raw
    import narwhals as nw

    schema = nw.from_native(data).collect_schema()
    if column not in schema:
        return raw
    kind = schema[column]
    if kind == nw.Boolean:
        return raw.strip().lower() in ("1", "true", "yes")
    if kind.is_integer():
        return int(raw)
    if kind.is_float():
        return float(raw)
    return raw


def default_engine() -> str:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return "numpy"
    return "duckdb"
