"""A tick's Context reads each version's baselines once, and every device still gets its own
pinned baseline first, else the version's newest shared one, whichever device asks first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from edgewatch.server.alert import ScopeLevel
from edgewatch.server.detect import Context, members
from edgewatch.server.store import Device, DeviceStatus, Store, StoreConfig

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def _device(device_id: str) -> Device:
    return Device(
        device_id, "north", "digits", "v1", None, None, None, None,
        None, None, {}, 0.0, 0.0, None, None, DeviceStatus.ONLINE,
    )  # fmt: skip


def _baseline(store: Store, minutes: int, device_id: str | None = None) -> str:
    return store.baselines.create(
        model_name="digits",
        model_version="v1",
        source="upload" if device_id is None else "window",
        rows=10,
        features=[],
        profiles=[],
        now=T0 + timedelta(minutes=minutes),
        device_id=device_id,
    )


def test_pinned_device_gets_its_own_baseline_and_its_peers_the_shared_one(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "e.duckdb", StoreConfig(maintenance=False)) as store:
        _baseline(store, 0)
        pinned = _baseline(store, 1, device_id="a")
        shared = _baseline(store, 2)
        devices = [_device("a"), _device("b"), _device("c")]
        for order in (["a", "b", "c"], ["c", "b", "a"]):
            ctx = Context(store, T0.timestamp(), devices)
            by_id = {m.get("device"): m for m in members(ScopeLevel.DEVICE, devices)}
            got = {d: ctx.baseline(by_id[d]) for d in order}
            assert {d: b.id for d, b in got.items() if b} == {"a": pinned, "b": shared, "c": shared}
            assert got == {d: store.baselines.latest("digits", "v1", d) for d in order}
            version = members(ScopeLevel.VERSION, devices)[0]
            assert ctx.baseline(version) == store.baselines.latest("digits", "v1")
