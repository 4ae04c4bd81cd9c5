"""Choosing the lake backend: settings refuse an incomplete or non-PostgreSQL catalog at
start, naming the setting; the embedded file stays the default (no PostgreSQL needed here)."""

from __future__ import annotations

import pytest

from edgewatch.server.settings import SettingsError, load_settings


def test_the_embedded_file_stays_the_default() -> None:
    assert load_settings().store == "duckdb"


def test_a_lake_needs_a_postgresql_catalog_and_a_data_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError, match="needs catalog"):
        load_settings(store="ducklake", catalog="postgresql://db/edgewatch")
    with pytest.raises(SettingsError, match="catalog must be a postgresql:// URL, got 'mysql://"):
        load_settings(store="ducklake", catalog="mysql://db/x", data_path="/lake")
    with pytest.raises(SettingsError, match="store"):
        load_settings(store="sqlite")
    monkeypatch.setenv("EDGEWATCH_STORE", "ducklake")
    monkeypatch.setenv("EDGEWATCH_CATALOG", "postgresql://edgewatch@db:5432/edgewatch")
    monkeypatch.setenv("EDGEWATCH_DATA_PATH", "s3://bucket/lake/")
    settings = load_settings()
    assert (settings.store, settings.data_path) == ("ducklake", "s3://bucket/lake/")
