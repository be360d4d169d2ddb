"""Bundled data sets. Nothing is ever downloaded: the data ships inside the package."""

from fairwatch.datasets._adult import ADULT_COLUMNS, adult_path, load_adult

__all__ = ["ADULT_COLUMNS", "adult_path", "load_adult"]
