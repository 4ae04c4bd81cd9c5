"""Columnar rows → Arrow tables matching the DuckDB tables (the only bulk-insert path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa

from edgewatch.server.store._batch import (
    ExpHistogramRows,
    HistogramRows,
    NumericRows,
)

_TS = pa.timestamp("us")
_I64_LIST = pa.list_(pa.int64())

Columns = Sequence[tuple[str, str, pa.DataType]]
"""(table column, rows field, Arrow type) in the table's column order."""

_SERIES_KEY: Columns = (
    ("device_id", "device_id", pa.string()),
    ("metric", "metric", pa.string()),
    ("attrs", "attrs", pa.string()),
)
_SUMMARY: Columns = (
    ("count", "count", pa.int64()),
    ("sum", "sum", pa.float64()),
    ("min", "min", pa.float64()),
    ("max", "max", pa.float64()),
)
_TIMES: Columns = (("start_ts", "start_us", _TS), ("ts", "ts_us", _TS))

NUMERIC_COLUMNS: Columns = (
    *_SERIES_KEY,
    ("kind", "kind", pa.string()),
    *_TIMES,
    ("value", "value", pa.float64()),
)
EXP_HISTOGRAM_COLUMNS: Columns = (
    *_SERIES_KEY,
    *_TIMES,
    ("temporality", "temporality", pa.string()),
    ("scale", "scale", pa.int32()),
    ("zero_count", "zero_count", pa.int64()),
    ("pos_offset", "pos_offset", pa.int32()),
    ("pos_counts", "pos_counts", _I64_LIST),
    ("neg_offset", "neg_offset", pa.int32()),
    ("neg_counts", "neg_counts", _I64_LIST),
    *_SUMMARY,
)
HISTOGRAM_COLUMNS: Columns = (
    *_SERIES_KEY,
    *_TIMES,
    ("temporality", "temporality", pa.string()),
    ("bounds", "bounds", pa.list_(pa.float64())),
    ("counts", "counts", _I64_LIST),
    *_SUMMARY,
)


class _Rows(Protocol):
    """What every columnar rows type has: one timestamp per row."""

    @property
    def ts_us(self) -> Sequence[int]: ...


def _cat(parts: Sequence[_Rows], name: str) -> list[object]:
    out: list[object] = []
    for p in parts:
        out.extend(getattr(p, name))
    return out


def _table(seq: int, parts: Sequence[_Rows], columns: Columns) -> pa.Table:
    """A ``seq`` column, then ``columns`` concatenated over ``parts``."""
    n = sum(len(p.ts_us) for p in parts)
    arrays = {"seq": pa.array([seq] * n, pa.int64())}
    for column, field, type_ in columns:
        arrays[column] = pa.array(_cat(parts, field), type_)
    return pa.table(arrays)


def numeric_table(seq: int, parts: Sequence[NumericRows]) -> pa.Table:
    """Rows for ``points`` in column order."""
    return _table(seq, parts, NUMERIC_COLUMNS)


def exp_histogram_table(seq: int, parts: Sequence[ExpHistogramRows]) -> pa.Table:
    """Rows for ``exp_histograms`` in column order."""
    return _table(seq, parts, EXP_HISTOGRAM_COLUMNS)


def histogram_table(seq: int, parts: Sequence[HistogramRows]) -> pa.Table:
    """Rows for ``histograms`` (explicit buckets) in column order."""
    return _table(seq, parts, HISTOGRAM_COLUMNS)
