"""Reads the detection scheduler (and the prediction-class API) needs beyond histograms and
series: category counts of delta counters (prediction classes, categorical features) and which
attribute values (features, class labels) a selection has reported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._select import attributes_sql, json_path, selection_sql
from edgewatch.server.store._time import naive_utc
from edgewatch.server.store._types import Selection


class SignalReader:
    """Per-window category counts and feature catalogues from the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def category_counts(
        self,
        metric: str,
        key: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> dict[str, int]:
        """Sum of a delta counter per value of the point attribute ``key`` in the window."""
        rows = self._sums(metric, (key,), start, end, selection, attributes)
        return {str(k): round(v) for k, v in rows if k is not None and v and v > 0}

    def category_counts_by(
        self,
        metric: str,
        key: str,
        by: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> dict[str, dict[str, int]]:
        """``category_counts`` for each value of the point attribute ``by`` (each categorical
        feature), in one query; values without counts in the window are absent."""
        out: dict[str, dict[str, int]] = {}
        for group, k, v in self._sums(metric, (by, key), start, end, selection, attributes):
            if group is not None and k is not None and v and v > 0:
                out.setdefault(str(group), {})[str(k)] = round(v)
        return out

    def _sums(
        self,
        metric: str,
        keys: tuple[str, ...],
        start: datetime,
        end: datetime,
        selection: Selection,
        attributes: tuple[tuple[str, str], ...],
    ) -> list[tuple[Any, ...]]:
        """Rows of the point attributes ``keys`` (as text, NULL where absent) and the sum of a
        delta counter over the window for each combination of them."""
        sel, sel_params = selection_sql(selection)
        attr, attr_params = attributes_sql(attributes)
        columns = ", ".join(f"json_extract_string(attrs, ?) AS k{i}" for i in range(len(keys)))
        sql = (
            f"SELECT {columns}, sum(value) FROM points"
            f" WHERE metric = ? AND ts >= ? AND ts < ? AND {sel} AND {attr} GROUP BY ALL"
        )
        params = [
            *(json_path(k) for k in keys),
            metric,
            naive_utc(start),
            naive_utc(end),
            *sel_params,
            *attr_params,
        ]
        return self._db.read(lambda cur: cur.execute(sql, params).fetchall())

    def feature_names(self, metric: str, selection: Selection) -> list[str]:
        """Feature names (``ml.feature.name``) stored for ``metric`` on the selected devices."""
        return self.attribute_values(metric, "ml.feature.name", selection)

    def attribute_values(self, metric: str, key: str, selection: Selection) -> list[str]:
        """Every value of the point attribute ``key`` stored for ``metric`` on the selected
        devices (whenever reported, not only in a window), sorted as text."""
        sel, params = selection_sql(selection)
        sql = (
            "SELECT DISTINCT json_extract_string(attrs, ?) AS v"
            f" FROM series WHERE metric = ? AND {sel} ORDER BY v"
        )
        rows = self._db.read(
            lambda cur: cur.execute(sql, [json_path(key), metric, *params]).fetchall()
        )
        return [r[0] for r in rows if r[0] is not None]
