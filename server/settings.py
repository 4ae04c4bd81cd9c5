"""Server settings: one pydantic-settings class, ``EDGEWATCH_*`` environment, optional YAML file.

Priority, highest first: explicit arguments (the CLI), environment, the YAML file, defaults.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from edgewatch.server.alert import RetryPolicy
from edgewatch.server.ingest import MAX_HISTOGRAM_BUCKETS, IngestLimits
from edgewatch.server.store import Retention, StatusThresholds, StoreConfig

_YAML_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("edgewatch_yaml_values", default=None)


class SettingsError(ValueError):
    """The settings file or values are invalid; the message names the field."""


class Settings(BaseSettings):
    """Every knob of the server process; see docs/operations.md."""

    model_config = SettingsConfigDict(env_prefix="EDGEWATCH_", extra="forbid")

    db_path: Path = Path("edgewatch-data/edgewatch.duckdb")
    host: str = "127.0.0.1"
    port: int = Field(4318, ge=0, le=65535)
    insecure_dev: bool = False
    """Accept every request without a token. Development only; logged loudly at start."""
    metrics_need_token: bool = False
    """``/metrics`` answers only an admin token (it lists device ids, fleets and model versions)."""
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    log_level: str = "info"
    auth_failures_per_minute: float = Field(60.0, gt=0)
    """Failed authentications a client address may make a minute (429 with Retry-After beyond)."""
    auth_failure_burst: int = Field(20, gt=0)
    """... and at once, before that rate applies."""

    max_body_bytes: int = Field(8 * 1024 * 1024, gt=0)
    """Cap on a request body, compressed and after decompression (413 beyond)."""
    max_queue: int = Field(256, gt=0)
    """Batches waiting for the writer before ingest answers 503."""
    max_group_points: int = Field(50_000, gt=0)
    retry_after_s: int = Field(1, gt=0)
    write_timeout_s: float = Field(30.0, gt=0)
    idempotency_window_s: float = Field(86_400.0, gt=0)
    max_future_skew_s: float = Field(300.0, ge=0)
    max_series_per_metric: int = Field(1_000, gt=0)
    max_series_per_device: int = Field(10_000, gt=0)
    max_histogram_buckets: int = Field(MAX_HISTOGRAM_BUCKETS, ge=4)
    """Widest bucket span per side of a stored exponential histogram; wider points are
    downscaled at ingest."""

    retention_raw_s: float = Field(7 * 86_400.0, gt=0)
    retention_1m_s: float = Field(30 * 86_400.0, gt=0)
    retention_1h_s: float = Field(400 * 86_400.0, gt=0)
    online_after_s: float = Field(180.0, gt=0)
    offline_after_s: float = Field(900.0, gt=0)
    rollup_interval_s: float = Field(10.0, gt=0)
    hourly_rollup_interval_s: float = Field(300.0, gt=0)
    retention_interval_s: float = Field(3_600.0, gt=0)

    samples_retention_s: float = Field(30 * 86_400.0, gt=0)
    """How long sampled rows (``/v1/logs``) are kept."""
    max_samples_per_device: int = Field(100_000, gt=0)
    """Newest sampled rows kept per device; older ones are deleted as new ones arrive."""
    reference_sample_rows: int = Field(10_000, gt=0)
    """Rows of an uploaded baseline kept as the reference sample for drift reports."""
    drift_sampling_rows_per_hour: int = Field(600, ge=0)
    """Budget a firing drift alert raises its devices to ..."""
    drift_sampling_for_s: float = Field(3_600.0, gt=0)
    """... and for how long."""
    report_max_rows: int = Field(5_000, gt=0)
    """Rows per side of a drift report at most (a random subset beyond), so it takes seconds."""
    report_min_rows: int = Field(30, gt=0)
    """Rows each side of a drift report needs at least (422 below)."""
    rules_file: Path | None = None
    """Alert rules YAML (docs/alerts.md); unset = the built-in default rules."""
    rule_time_scale: float = Field(1.0, gt=0)
    """How much faster than real time the monitored fleet's time runs: every rule duration is
    divided by it and per-time rates multiplied (docs/alerts.md); ``edgewatch up`` sets the
    demo's speed. 1 = real devices."""
    external_url: str = ""
    """URL people reach this server's dashboard at, for generatorURL and alert links."""
    scheduler_tick_s: float = Field(1.0, gt=0)
    """How often the scheduler looks for due rules and dispatches notifications."""
    delivery_poll_s: float = Field(1.0, gt=0)
    """How often each receiver's delivery thread looks for due retries."""
    delivery_initial_backoff_s: float = Field(1.0, gt=0)
    delivery_max_backoff_s: float = Field(300.0, gt=0)
    """Retries of a failing receiver back off exponentially from the initial wait to this cap."""
    delivery_max_age_s: float = Field(86_400.0, gt=0)
    """A notification still undelivered after this long is dead-lettered."""
    alerting: bool = True
    """Run the detection scheduler and notifications (off for ingest-only processes)."""
    max_baseline_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Cap on an uploaded baseline file (413 beyond)."""
    baseline_max_missing_share: float = Field(0.5, ge=0, le=1)
    """A baseline column with a larger share of missing values is refused."""

    store: Literal["duckdb", "ducklake"] = "duckdb"
    """Storage backend: the embedded DuckDB file (``db_path``), or a DuckLake lake shared
    by stateless replicas (``catalog`` + ``data_path``; the ``[scale]`` extra,
    docs/scale-out.md)."""
    catalog: str | None = None
    """PostgreSQL URL of the lake's catalog and transactional tables (``store: ducklake``)."""
    data_path: str | None = None
    """Directory or object-store URL (``s3://bucket/prefix``) of the lake's Parquet files."""
    lake_inline_rows: int = Field(0, ge=0)
    """DuckLake data inlining: commits of at most this many rows per table stay in the
    catalog instead of a Parquet file (0: off)."""
    lease_poll_s: float = Field(2.0, gt=0)
    """How often a replica tries for the scheduler lease: a killed leader's successor takes
    over within this."""

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.store == "ducklake" and (not self.catalog or not self.data_path):
            raise ValueError("store ducklake needs catalog (postgresql://...) and data_path")
        if self.catalog is not None and not self.catalog.startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError(f"catalog must be a postgresql:// URL, got {self.catalog!r}")
        if self.offline_after_s < self.online_after_s:
            raise ValueError("offline_after_s must be >= online_after_s")
        if self.delivery_max_backoff_s < self.delivery_initial_backoff_s:
            raise ValueError("delivery_max_backoff_s must be >= delivery_initial_backoff_s")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile must be given together")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = InitSettingsSource(settings_cls, init_kwargs=_YAML_VALUES.get() or {})
        return (init_settings, env_settings, yaml_source)

    def store_config(self, *, maintenance: bool = True) -> StoreConfig:
        """The store's share of the settings."""
        return StoreConfig(
            max_queue=self.max_queue,
            max_group_points=self.max_group_points,
            idempotency_window_s=self.idempotency_window_s,
            retention=Retention(
                raw_s=self.retention_raw_s,
                minute_s=self.retention_1m_s,
                hour_s=self.retention_1h_s,
                batch_keys_s=self.idempotency_window_s,
                samples_s=self.samples_retention_s,
            ),
            thresholds=StatusThresholds(self.online_after_s, self.offline_after_s),
            rollup_interval_s=self.rollup_interval_s,
            hourly_rollup_interval_s=self.hourly_rollup_interval_s,
            retention_interval_s=self.retention_interval_s,
            maintenance=maintenance,
            max_samples_per_device=self.max_samples_per_device,
        )

    def retry_policy(self) -> RetryPolicy:
        """How deliveries to receivers are retried."""
        return RetryPolicy(
            initial_backoff_s=self.delivery_initial_backoff_s,
            max_backoff_s=self.delivery_max_backoff_s,
            max_age_s=self.delivery_max_age_s,
        )

    def ingest_limits(self) -> IngestLimits:
        """The ingest validator's share of the settings."""
        return IngestLimits(
            max_future_skew_s=self.max_future_skew_s,
            max_age_s=self.retention_raw_s,
            max_histogram_buckets=self.max_histogram_buckets,
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``config_file`` (YAML mapping), the environment and ``overrides``."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            loaded = yaml.safe_load(config_file.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise SettingsError(f"cannot read settings file {config_file}: {e}") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise SettingsError(f"settings file {config_file} must hold a mapping of settings")
        values = loaded or {}
        unknown = sorted(set(values) - set(Settings.model_fields))
        if unknown:
            raise SettingsError(f"unknown settings in {config_file}: {', '.join(unknown)}")
    token = _YAML_VALUES.set(values)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        raise SettingsError(str(e)) from e
    finally:
        _YAML_VALUES.reset(token)
