"""``store.samples``: the typed interface to sampled rows, budgets and reference samples.

Reads use the calling thread's cursor; writes run on the single writer thread like every
other write; both through the store's :class:`Gateway`, so DuckDB errors become ``StoreError``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from edgewatch.contract import utc_now
from edgewatch.server.store import _samples
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._gateway import LONG_WRITE_S, Gateway
from edgewatch.server.store._samples import SampleSet, SamplingSetting
from edgewatch.server.store._time import checked_or_now

DEFAULT_REFERENCE_ROWS = 10_000


class SampleStore:
    """Sampled rows, per-device sampling budgets and reference samples in the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def setting(self, device_id: str, *, now: datetime | None = None) -> SamplingSetting:
        """The sampling budget in force for a device."""
        at = checked_or_now(now)
        return self._db.read(lambda cur: _samples.get_setting(cur, device_id, at))

    def set_base(
        self,
        device_id: str,
        *,
        enabled: bool,
        rows_per_hour: int | None,
        bytes_per_day: int | None,
    ) -> SamplingSetting:
        """Set a device's lasting budget; returns the budget now in force."""
        now = utc_now()
        self._db.write(
            lambda cur: _samples.set_base(
                cur,
                device_id,
                enabled=enabled,
                rows_per_hour=rows_per_hour,
                bytes_per_day=bytes_per_day,
                now=now,
            ),
            timeout_s=LONG_WRITE_S,
        )
        return self.setting(device_id)

    def raise_budget(
        self,
        device_ids: Sequence[str],
        *,
        rows_per_hour: int,
        for_s: float,
        reason: str,
        bytes_per_day: int | None = None,
    ) -> list[SamplingSetting]:
        """Raise devices' budgets for ``for_s`` seconds; returns the budgets now in force."""
        if rows_per_hour < 0 or not for_s > 0:
            raise InvalidQueryError("a raise needs rows_per_hour >= 0 and a duration > 0")
        now = utc_now()
        ids = list(device_ids)
        self._db.write(
            lambda cur: _samples.raise_budget(
                cur,
                ids,
                rows_per_hour=rows_per_hour,
                bytes_per_day=bytes_per_day,
                until=now + timedelta(seconds=for_s),
                reason=reason,
                now=now,
            ),
            timeout_s=LONG_WRITE_S,
        )
        return [self.setting(d) for d in ids]

    def devices_of_version(self, model_name: str, model_version: str) -> list[str]:
        """Registered devices running a model version."""
        return self._db.read(
            lambda cur: _samples.devices_of_version(cur, model_name, model_version)
        )

    def current(
        self,
        *,
        model_name: str,
        model_version: str,
        device_id: str | None,
        start: datetime,
        end: datetime,
        limit: int,
    ) -> SampleSet:
        """Sampled rows of a model version (optionally one device) in a window, at most ``limit``."""
        return self._db.read(
            lambda cur: _samples.query_samples(
                cur,
                model_name=model_name,
                model_version=model_version,
                device_id=device_id,
                start=start,
                end=end,
                limit=limit,
            )
        )

    def save_reference(
        self,
        model_name: str,
        model_version: str,
        features: Sequence[dict[str, Any]],
        predictions: Sequence[str | None] | None = None,
        *,
        max_rows: int = DEFAULT_REFERENCE_ROWS,
        seed: int | None = None,
    ) -> int:
        """Keep a random sample of at most ``max_rows`` of a baseline's rows; returns rows kept."""
        if predictions is not None and len(predictions) != len(features):
            raise InvalidQueryError("predictions must have one entry per row")
        keep = list(range(len(features)))
        if len(keep) > max_rows:
            keep = sorted(random.Random(seed).sample(keep, max_rows))
        rows = [features[i] for i in keep]
        preds = None if predictions is None else [predictions[i] for i in keep]
        now = utc_now()
        self._db.write(
            lambda cur: _samples.save_reference(cur, model_name, model_version, rows, preds, now),
            timeout_s=LONG_WRITE_S,
        )
        return len(rows)

    def reference(self, model_name: str, model_version: str, *, limit: int) -> SampleSet:
        """At most ``limit`` random rows of a model version's reference sample."""
        return self._db.read(
            lambda cur: _samples.query_reference(cur, model_name, model_version, limit)
        )
