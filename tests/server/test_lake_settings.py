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


KEYS = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr'et"}


def test_s3_settings_come_from_the_standard_aws_variables() -> None:
    from edgewatch.server.lake import S3Settings

    aws = S3Settings.from_env({**KEYS, "AWS_DEFAULT_REGION": "eu-west-1"})
    assert (aws.endpoint, aws.use_ssl, aws.region) == (None, True, "eu-west-1")
    minio = S3Settings.from_env(
        {
            **KEYS,
            "AWS_ENDPOINT_URL": "https://ignored:1",
            "AWS_ENDPOINT_URL_S3": "http://minio:9000/",
        }
    )
    assert (minio.endpoint, minio.use_ssl, minio.region) == ("minio:9000", False, "us-east-1")
    sql = minio.create_secret_sql()
    assert "SECRET 's3cr''et'" in sql and "URL_STYLE 'path'" in sql and "USE_SSL false" in sql


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKID"}, "AWS_SECRET_ACCESS_KEY not set"),
        ({}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"),
        ({**KEYS, "AWS_ENDPOINT_URL": "minio:9000"}, "AWS_ENDPOINT_URL must be an http"),
        ({**KEYS, "AWS_ENDPOINT_URL_S3": "http://m:9000/bucket"}, "base URL"),
        ({**KEYS, "AWS_ENDPOINT_URL": "http://m:port"}, "bad port"),
    ],
)
def test_s3_settings_refuse_missing_credentials_and_bad_endpoints(
    env: dict[str, str], message: str
) -> None:
    from edgewatch.server.lake import S3Settings
    from edgewatch.server.store import StoreError

    with pytest.raises(StoreError, match=message):
        S3Settings.from_env(env)


def test_a_lake_refuses_object_stores_other_than_s3() -> None:
    from edgewatch.server.lake import LakeConfig
    from edgewatch.server.store import StoreError

    with pytest.raises(StoreError, match="only local directories and s3:// URLs"):
        LakeConfig("postgresql://db/edgewatch", "gs://bucket/lake/")
    assert LakeConfig("postgresql://db/edgewatch", "S3://bucket/lake").on_object_store
