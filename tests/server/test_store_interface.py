"""The store interface: the DuckDB ``Store`` implements every member of ``StoreProtocol`` with
the protocol's parameters, and storage errors of every area leave as ``StoreError``."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pytest

from edgewatch.contract import from_unix_s
from edgewatch.server import store as store_pkg
from edgewatch.server.store import (
    InvalidQueryError,
    Selection,
    Store,
    StoreClosedError,
    StoreConfig,
    StoreError,
    StoreProtocol,
)

AREAS = {
    "samples": store_pkg.SampleStoreProtocol,
    "baselines": store_pkg.BaselineStore,
    "profiles": store_pkg.ProfileStore,
    "evaluations": store_pkg.EvaluationStore,
    "alerting": store_pkg.AlertRecordStore,
    "deliveries": store_pkg.DeliveryRecordStore,
    "signals": store_pkg.SignalStore,
    "performance": store_pkg.PerformanceStore,
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False)) as s:
        yield s


def _members(protocol: type) -> dict[str, Any]:
    """The methods and properties a protocol declares (its own and its bases')."""
    out: dict[str, Any] = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object, Protocol) or not getattr(klass, "_is_protocol", False):
            continue
        out.update({k: v for k, v in vars(klass).items() if not k.startswith("_") and callable(v)})
        out.update({k: v for k, v in vars(klass).items() if isinstance(v, property)})
    return out


def _parameters(fn: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values()]


def _check(protocol: type, impl: object) -> list[str]:
    problems = []
    for name, member in _members(protocol).items():
        if not hasattr(impl, name):
            problems.append(f"{type(impl).__name__} lacks {name}")
        elif not isinstance(member, property):
            got = _parameters(getattr(type(impl), name))
            if got != _parameters(member):
                problems.append(f"{name}: {got} != protocol {_parameters(member)}")
    return problems


def test_the_duckdb_store_implements_every_member_of_the_protocol(store: Store) -> None:
    problems = _check(StoreProtocol, store)
    for area, protocol in AREAS.items():
        problems += [f"{area}.{p}" for p in _check(protocol, getattr(store, area))]
    assert problems == []
    assert set(AREAS) == {
        k for k, v in _members(StoreProtocol).items() if isinstance(v, property)
    } - {
        "ready",
        "queue_depth",
    }


def test_the_cursor_is_private(store: Store) -> None:
    assert not hasattr(store, "cursor")
    assert not hasattr(store, "write")


def _break(store: Store, table: str) -> None:
    """Drop a table behind the store's back, so the next read of it fails inside DuckDB."""
    store._db.write(lambda cur: cur.execute(f"DROP TABLE {table}"))


@pytest.mark.parametrize(
    ("table", "read"),
    [
        ("baseline_profiles", lambda s: s.baselines.get("x")),
        ("baselines", lambda s: s.baselines.list()),
        ("model_profiles", lambda s: s.profiles.list("m")),
        (
            "evaluations",
            lambda s: s.evaluations.query(start=datetime.now(UTC), end=datetime.now(UTC)),
        ),
        ("alert_history", lambda s: s.alerting.history()),
        ("deliveries", lambda s: s.deliveries.pending_receivers()),
        ("series", lambda s: s.signals.feature_names("m", Selection())),
        ("devices", lambda s: s.performance.members(Selection())),
        (
            "samples",
            lambda s: s.samples.current(
                model_name="m",
                model_version="1",
                device_id=None,
                start=from_unix_s(0),
                end=from_unix_s(1),
                limit=1,
            ),
        ),
    ],
)
def test_a_storage_failure_in_any_area_is_a_store_error(
    store: Store, table: str, read: Any
) -> None:
    _break(store, table)
    with pytest.raises(StoreError) as caught:
        read(store)
    assert not isinstance(caught.value, duckdb.Error)
    assert "storage failed" in str(caught.value)


def test_a_closed_store_answers_store_closed(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False))
    s.close()
    with pytest.raises(StoreClosedError):
        s.baselines.list()
    with pytest.raises(StoreClosedError):
        s.alerting.record_run("r", datetime.now(UTC), None)


DURATIONS = {
    # windows and steps of a query, a raise's length
    "step_s", "period_s", "for_s",
    # measured times and rates
    "clock_skew_s", "latency_s", "latency_mean_s", "latency_p50_s", "latency_p95_s",
    "latency_p99_s", "inference_rate_per_s",
    # configuration
    "online_s", "offline_s", "raw_s", "minute_s", "hour_s", "batch_keys_s", "samples_s",
    "idempotency_window_s", "rollup_interval_s", "hourly_rollup_interval_s",
    "retention_interval_s",
}  # fmt: skip
"""Every float named ``*_s`` the interface may carry: durations and measured times, never an
instant."""


def _interface_hints() -> Iterator[tuple[str, str, Any]]:
    """(owner, name, annotation) of every protocol parameter and value-type field."""
    for protocol in (StoreProtocol, *AREAS.values()):
        for name, member in _members(protocol).items():
            if not isinstance(member, property):
                for param, hint in typing.get_type_hints(member).items():
                    yield f"{protocol.__name__}.{name}", param, hint
    for export in store_pkg.__all__:
        value = getattr(store_pkg, export)
        if dataclasses.is_dataclass(value):
            for field, hint in typing.get_type_hints(value).items():
                yield export, field, hint


def test_every_instant_at_the_interface_is_an_aware_datetime_and_every_float_s_a_duration() -> None:
    hints = list(_interface_hints())
    floats = {(o, n) for o, n, h in hints if n.endswith("_s") and "float" in str(h)}
    assert {(o, n) for o, n in floats if n not in DURATIONS} == set()
    instants = {"start", "end", "now", "since", "before", "at", "created_at", "next_at", "time"}
    named = [(o, n, h) for o, n, h in hints if n in instants or n.endswith(("_seen", "_at"))]
    assert named and all("datetime" in str(h) for _, _, h in named), named
    times = typing.get_type_hints(store_pkg.SeriesResult)["times"]
    assert typing.get_args(times)[0] is datetime


def test_a_naive_datetime_is_refused_not_read_as_local_time(store: Store) -> None:
    with pytest.raises(InvalidQueryError, match="time zone"):
        store.fleet_summary(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(InvalidQueryError, match="time zone"):
        store.list_devices(now=datetime(2026, 1, 1))
