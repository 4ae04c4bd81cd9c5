"""Categorical counts: category → count, with rare categories folded into ``__other__``.

The categorical twin of the exponential histogram: mergeable across devices and time by
adding counts, so class predictions and string features drift-test like numeric ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

OTHER = "__other__"
"""Bucket that collects categories beyond ``max_categories``."""
DEFAULT_MAX_CATEGORIES = 64
"""Distinct categories kept before folding the rarest into ``__other__``."""


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalCounts:
    """An immutable mapping of category name to non-negative count."""

    counts: Mapping[str, int]

    def __post_init__(self) -> None:
        clean: dict[str, int] = {}
        for key, value in dict(self.counts).items():
            if not isinstance(key, str):
                raise ValueError(f"category names must be str, got {key!r}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"count of category {key!r} must be a non-negative int, got {value!r}"
                )
            if value:
                clean[key] = value
        object.__setattr__(self, "counts", MappingProxyType(clean))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalCounts):
            return NotImplemented
        return dict(self.counts) == dict(other.counts)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[CategoricalCounts], tuple[dict[str, int]]]:
        return (CategoricalCounts, (dict(self.counts),))

    @property
    def count(self) -> int:
        """Total number of observations."""
        return sum(self.counts.values())

    def proportions(self, categories: Iterable[str]) -> list[float]:
        """Share of each given category (0 for unseen ones); empty → all zeros."""
        total = self.count
        return [self.counts.get(c, 0) / total if total else 0.0 for c in categories]


def categorical_counts(
    values: Iterable[object], *, max_categories: int = DEFAULT_MAX_CATEGORIES
) -> CategoricalCounts:
    """Count values (converted with ``str``; ``None`` skipped as missing), keeping the
    ``max_categories`` most frequent and folding the rest into ``__other__``."""
    counter = Counter(str(v) for v in values if v is not None)
    return _fold(counter, max_categories)


def merge_counts(
    *parts: CategoricalCounts, max_categories: int = DEFAULT_MAX_CATEGORIES
) -> CategoricalCounts:
    """Counts of the union of all observations (associative and commutative)."""
    total: Counter[str] = Counter()
    for p in parts:
        total.update(p.counts)
    return _fold(total, max_categories)


def _fold(counter: Mapping[str, int], max_categories: int) -> CategoricalCounts:
    if max_categories < 1:
        raise ValueError(f"max_categories must be >= 1, got {max_categories}")
    named = {k: v for k, v in counter.items() if k != OTHER}
    other = counter.get(OTHER, 0)
    if len(named) > max_categories:
        # Deterministic: most frequent first, ties broken by name.
        ranked = sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = dict(ranked[:max_categories])
        other += sum(v for _, v in ranked[max_categories:])
        named = kept
    if other:
        named[OTHER] = other
    return CategoricalCounts(named)
