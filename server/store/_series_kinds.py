"""Kinds per series: what each (device, metric, attributes) was sent as, and what queries read.

A metric name does not fix a kind for the fleet: one device may send ``ml.inference.duration``
as an exponential histogram and another as an explicit-bucket one. The writer records every
new (series, stored kind, wire temporality) in ``series_kinds``; queries ask which kinds the
selected series hold (``kinds_of``), so what one device sends never changes another's answers.
A selection of several devices whose series mix histogram and numeric kinds answers from the
kinds its question reads, naming the devices it leaves out (``answer_kinds``), not an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

import duckdb
import pyarrow as pa

from edgewatch.server.store._batch import Batch
from edgewatch.server.store._errors import InvalidQueryError, NotFoundError
from edgewatch.server.store._select import attributes_sql, selection_sql
from edgewatch.server.store._types import Selection

SeriesKind: TypeAlias = tuple[str, str, str, str, str]
"""(device_id, metric, attrs, stored kind, wire temporality)."""

_NUMERIC = {
    "gauge": ("gauge", "none"),
    "delta": ("delta", "delta"),
    "cumulative": ("delta", "cumulative"),  # stored as deltas (see ``_cumstate``)
}


def series_kinds(batch: Batch) -> set[SeriesKind]:
    """Every (series, kind, temporality) in a batch as sent, before cumulative conversion."""
    n, e, h = batch.numeric, batch.exp_histograms, batch.histograms
    out: set[SeriesKind] = set()
    for dev, metric, attrs, kind in set(zip(n.device_id, n.metric, n.attrs, n.kind, strict=True)):
        stored, temporality = _NUMERIC[kind]
        out.add((dev, metric, attrs, stored, temporality))
    for dev, metric, attrs, t in set(
        zip(e.device_id, e.metric, e.attrs, e.temporality, strict=True)
    ):
        out.add((dev, metric, attrs, "exp_histogram", t))
    for dev, metric, attrs, t in set(
        zip(h.device_id, h.metric, h.attrs, h.temporality, strict=True)
    ):
        out.add((dev, metric, attrs, "histogram", t))
    return out


_STORED = {
    ("numeric", "gauge"): ("gauge", "none"),
    ("numeric", "delta"): ("delta", "delta"),
    ("numeric", "cumulative"): ("delta", "cumulative"),
    ("exp", "delta"): ("exp_histogram", "delta"),
    ("exp", "cumulative"): ("exp_histogram", "cumulative"),
    ("hist", "delta"): ("histogram", "delta"),
    ("hist", "cumulative"): ("histogram", "cumulative"),
}
"""``Batch.metric_kinds`` (rows, label) → (stored kind, wire temporality)."""


@dataclass(frozen=True, slots=True)
class KindsUpdate:
    """What a group adds: new ``series_kinds`` rows (with first-seen receive times), and the
    ``Batch.metric_kinds`` entries whose series are all recorded once it commits."""

    entries: dict[SeriesKind, int]
    combos: frozenset[tuple[str, str, str, str]]


class KnownSeriesKinds:
    """The writer's memory of ``series_kinds``, so only new entries are written.

    Per-point work is kept off the hot path: a batch whose ``metric_kinds`` were all seen
    before (a subset test) can only add its new series (``new_series``), whose kinds those
    entries tell; a batch with an entry not seen since the server started is scanned point
    by point once. So a known series that switches to a kind its device already sends for
    the same metric under other attributes is recorded for the device and metric, not for
    its own attributes (a query filtering on them may miss that kind).
    """

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        rows = cur.execute(
            "SELECT device_id, metric, attrs, kind, temporality FROM series_kinds"
        ).fetchall()
        self._known: set[SeriesKind] = {(r[0], r[1], r[2], r[3], r[4]) for r in rows}
        self._combos: set[tuple[str, str, str, str]] = set()

    def fresh(self, batches: list[Batch]) -> KindsUpdate:
        """What ``batches`` add (see ``KindsUpdate``); nothing is adopted until ``advance``."""
        out: dict[SeriesKind, int] = {}
        combos: set[tuple[str, str, str, str]] = set()
        for b in batches:
            found: Iterable[SeriesKind]
            if b.metric_kinds and b.metric_kinds <= self._combos:
                if not b.new_series:
                    continue
                by_metric: dict[tuple[str, str], list[tuple[str, str]]] = {}
                for dev, metric, rows, label in b.metric_kinds:
                    by_metric.setdefault((dev, metric), []).append(_STORED[(rows, label)])
                found = [
                    (dev, metric, attrs, *kind)
                    for dev, metric, attrs in b.new_series
                    for kind in by_metric.get((dev, metric), ())
                ]
            else:
                found = series_kinds(b)
                combos.update(b.metric_kinds)
            for k in found:
                if k not in self._known and k not in out:
                    out[k] = b.received_us
        return KindsUpdate(out, frozenset(combos))

    @staticmethod
    def persist(cur: duckdb.DuckDBPyConnection, update: KindsUpdate) -> None:
        """Insert ``update``'s new rows (inside the caller's transaction)."""
        fresh = update.entries
        if not fresh:
            return
        keys = list(fresh)
        data = pa.table(
            {
                **{
                    name: [k[i] for k in keys]
                    for i, name in enumerate(
                        ("device_id", "metric", "attrs", "kind", "temporality")
                    )
                },
                "first_seen": pa.array(list(fresh.values()), pa.timestamp("us")),
            }
        )
        cur.from_arrow(data).insert_into("series_kinds")

    def advance(self, update: KindsUpdate) -> None:
        """Remember ``update`` once its transaction has committed."""
        self._known.update(update.entries)
        self._combos.update(update.combos)


def kinds_of(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
) -> set[str]:
    """Stored kinds of ``metric``'s series in the selection (empty when none there);
    ``NotFoundError`` when no device ever sent the metric."""
    sel, sel_params = selection_sql(selection)
    att, att_params = attributes_sql(attributes)
    rows = cur.execute(
        f"SELECT DISTINCT kind FROM series_kinds WHERE metric = ? AND {sel} AND {att}",
        [metric, *sel_params, *att_params],
    ).fetchall()
    if rows:
        return {str(r[0]) for r in rows}
    if cur.execute("SELECT 1 FROM series_kinds WHERE metric = ? LIMIT 1", [metric]).fetchone():
        return set()
    raise NotFoundError(f"metric {metric!r} not found")


HISTOGRAM_KINDS = frozenset({"exp_histogram", "histogram"})


@dataclass(frozen=True, slots=True)
class AnswerKinds:
    """The stored kinds a query reads, and the devices of the selection that also send the
    metric as another kind, whose series of that kind the answer leaves out (sorted)."""

    kinds: frozenset[str]
    left_out_devices: tuple[str, ...] = ()


def answer_kinds(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
    *,
    histogram: bool,
) -> AnswerKinds:
    """The kinds a question reads (``histogram``: quantiles, distributions; else numeric
    aggregations) by ``answer_for``, and the devices left out; ``NotFoundError`` as
    ``kinds_of``. One query, and a second only for a selection that mixes kinds."""
    sel, sel_params = selection_sql(selection)
    att, att_params = attributes_sql(attributes)
    where = f"metric = ? AND {sel} AND {att}"
    params = [metric, *sel_params, *att_params]
    row = cur.execute(
        "SELECT list(DISTINCT kind), min(device_id) IS DISTINCT FROM max(device_id)"
        f" FROM series_kinds WHERE {where}",
        params,
    ).fetchone()
    kinds = frozenset(str(k) for k in (row[0] if row and row[0] else ()))
    if (
        not kinds
        and not cur.execute(
            "SELECT 1 FROM series_kinds WHERE metric = ? LIMIT 1", [metric]
        ).fetchone()
    ):
        raise NotFoundError(f"metric {metric!r} not found")
    reads = answer_for(kinds, bool(row and row[1]), histogram)
    if reads == kinds:
        return AnswerKinds(kinds)
    others = sorted(kinds - reads)
    left_out = cur.execute(
        f"SELECT DISTINCT device_id FROM series_kinds WHERE {where}"
        f" AND kind IN ({', '.join('?' for _ in others)}) ORDER BY device_id",
        [*params, *others],
    ).fetchall()
    return AnswerKinds(reads, tuple(str(r[0]) for r in left_out))


def answer_for(kinds: frozenset[str], several_devices: bool, histogram: bool) -> frozenset[str]:
    """The kinds a selection holding ``kinds`` answers from: over ``several_devices`` mixing
    histogram and numeric kinds, the histogram kinds when ``histogram``, else the numeric
    ones; otherwise every kind (``family_kind`` then says why a mix within one device answers
    nothing)."""
    histograms, numeric = kinds & HISTOGRAM_KINDS, kinds - HISTOGRAM_KINDS
    if not several_devices or not histograms or not numeric:
        return kinds
    return histograms if histogram else numeric


def family_kind(metric: str, kinds: set[str]) -> str:
    """One kind naming what the selected series hold: a numeric kind, ``exp_histogram``,
    ``histogram`` or ``mixed_histogram`` (both; quantiles interpolate over both), or ``none``.

    Numeric series of different kinds, or numeric beside histogram series, answer no question
    together: ``InvalidQueryError`` says which kinds met and how to separate them.
    """
    if not kinds:
        return "none"
    numeric = kinds - HISTOGRAM_KINDS
    if (numeric and numeric != kinds) or len(numeric) > 1:
        raise InvalidQueryError(
            f"metric {metric!r} is sent as {', '.join(sorted(kinds))} by different series in"
            " this selection, which do not add up: select one device or attribute set"
        )
    if numeric:
        return next(iter(numeric))
    return "mixed_histogram" if len(kinds) > 1 else next(iter(kinds))
