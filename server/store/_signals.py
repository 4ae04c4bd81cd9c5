"""Reads the detection scheduler needs beyond histograms and series: category counts of
delta counters (prediction classes, categorical features) and which features a version has."""

from __future__ import annotations

from edgewatch.server.store._select import attributes_sql, json_path, selection_sql
from edgewatch.server.store._store import Store
from edgewatch.server.store._time import utc_datetime
from edgewatch.server.store._types import Selection


class SignalReader:
    """Per-window category counts and feature catalogues from one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def category_counts(
        self,
        metric: str,
        key: str,
        *,
        start_s: float,
        end_s: float,
        selection: Selection,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> dict[str, int]:
        """Sum of a delta counter per value of the point attribute ``key`` in the window."""
        sel, sel_params = selection_sql(selection)
        attr, attr_params = attributes_sql(attributes)
        rows = (
            self._store.cursor()
            .execute(
                "SELECT json_extract_string(attrs, ?) AS k, sum(value) FROM points"
                f" WHERE metric = ? AND ts > ? AND ts <= ? AND {sel} AND {attr}"
                " GROUP BY k",
                [
                    json_path(key),
                    metric,
                    utc_datetime(start_s),
                    utc_datetime(end_s),
                    *sel_params,
                    *attr_params,
                ],
            )
            .fetchall()
        )
        return {str(k): round(v) for k, v in rows if k is not None and v and v > 0}

    def feature_names(self, metric: str, selection: Selection) -> list[str]:
        """Feature names (``ml.feature.name``) stored for ``metric`` on the selected devices."""
        sel, params = selection_sql(selection)
        rows = (
            self._store.cursor()
            .execute(
                "SELECT DISTINCT json_extract_string(attrs, '$.\"ml.feature.name\"') AS f"
                f" FROM series WHERE metric = ? AND {sel} ORDER BY f",
                [metric, *params],
            )
            .fetchall()
        )
        return [r[0] for r in rows if r[0] is not None]
