"""Columnar rows → Arrow tables matching the DuckDB tables (the only bulk-insert path)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from edgewatch.server.store._batch import (
    ExpHistogramRows,
    HistogramRows,
    NumericRows,
)

_TS = pa.timestamp("us")
_I64_LIST = pa.list_(pa.int64())


def _cat(parts: Sequence[object], name: str) -> list[object]:
    out: list[object] = []
    for p in parts:
        out.extend(getattr(p, name))
    return out


def numeric_table(seq: int, parts: Sequence[NumericRows]) -> pa.Table:
    """Rows for ``points`` in column order."""
    n = sum(len(p.ts_us) for p in parts)
    return pa.table(
        {
            "seq": pa.array([seq] * n, pa.int64()),
            "device_id": pa.array(_cat(parts, "device_id"), pa.string()),
            "metric": pa.array(_cat(parts, "metric"), pa.string()),
            "attrs": pa.array(_cat(parts, "attrs"), pa.string()),
            "kind": pa.array(_cat(parts, "kind"), pa.string()),
            "start_ts": pa.array(_cat(parts, "start_us"), _TS),
            "ts": pa.array(_cat(parts, "ts_us"), _TS),
            "value": pa.array(_cat(parts, "value"), pa.float64()),
        }
    )


def exp_histogram_table(seq: int, parts: Sequence[ExpHistogramRows]) -> pa.Table:
    """Rows for ``exp_histograms`` in column order."""
    n = sum(len(p.ts_us) for p in parts)
    return pa.table(
        {
            "seq": pa.array([seq] * n, pa.int64()),
            "device_id": pa.array(_cat(parts, "device_id"), pa.string()),
            "metric": pa.array(_cat(parts, "metric"), pa.string()),
            "attrs": pa.array(_cat(parts, "attrs"), pa.string()),
            "start_ts": pa.array(_cat(parts, "start_us"), _TS),
            "ts": pa.array(_cat(parts, "ts_us"), _TS),
            "temporality": pa.array(_cat(parts, "temporality"), pa.string()),
            "scale": pa.array(_cat(parts, "scale"), pa.int32()),
            "zero_count": pa.array(_cat(parts, "zero_count"), pa.int64()),
            "pos_offset": pa.array(_cat(parts, "pos_offset"), pa.int32()),
            "pos_counts": pa.array(_cat(parts, "pos_counts"), _I64_LIST),
            "neg_offset": pa.array(_cat(parts, "neg_offset"), pa.int32()),
            "neg_counts": pa.array(_cat(parts, "neg_counts"), _I64_LIST),
            "count": pa.array(_cat(parts, "count"), pa.int64()),
            "sum": pa.array(_cat(parts, "sum"), pa.float64()),
            "min": pa.array(_cat(parts, "min"), pa.float64()),
            "max": pa.array(_cat(parts, "max"), pa.float64()),
        }
    )


def histogram_table(seq: int, parts: Sequence[HistogramRows]) -> pa.Table:
    """Rows for ``histograms`` (explicit buckets) in column order."""
    n = sum(len(p.ts_us) for p in parts)
    return pa.table(
        {
            "seq": pa.array([seq] * n, pa.int64()),
            "device_id": pa.array(_cat(parts, "device_id"), pa.string()),
            "metric": pa.array(_cat(parts, "metric"), pa.string()),
            "attrs": pa.array(_cat(parts, "attrs"), pa.string()),
            "start_ts": pa.array(_cat(parts, "start_us"), _TS),
            "ts": pa.array(_cat(parts, "ts_us"), _TS),
            "temporality": pa.array(_cat(parts, "temporality"), pa.string()),
            "bounds": pa.array(_cat(parts, "bounds"), pa.list_(pa.float64())),
            "counts": pa.array(_cat(parts, "counts"), _I64_LIST),
            "count": pa.array(_cat(parts, "count"), pa.int64()),
            "sum": pa.array(_cat(parts, "sum"), pa.float64()),
            "min": pa.array(_cat(parts, "min"), pa.float64()),
            "max": pa.array(_cat(parts, "max"), pa.float64()),
        }
    )
