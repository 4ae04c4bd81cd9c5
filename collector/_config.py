"""Validation of the Monitor's arguments: fail fast, with the bad field and value in the message."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgewatch.collector import semconv
from edgewatch.collector._sampling import SamplingConfig
from edgewatch.collector._types import Sampler, Transport

MAX_CATEGORIES = 1000
"""Known categories per categorical feature; values outside the list count as ``__other__``."""
_SAFE_DIR = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Config:
    model_name: str
    model_version: str
    url: str
    token: str | None
    device_id: str | None
    fleet: str | None
    features: tuple[str, ...]
    categorical: Mapping[str, tuple[str, ...]]
    classes: tuple[str | int, ...] | None
    interval_s: float
    spool_dir: Path
    spool_max_bytes: int
    hardware: str | None
    runtime: str | None
    resource_attributes: Mapping[str, str]
    samplers: tuple[Sampler, ...] | None
    transport: Transport | None
    timeout_s: float
    max_buckets: int
    sampling: SamplingConfig | None = None
    max_pending_labels: int = 4096


def _text(field: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{field} must not contain line breaks or NUL, got {value!r}")
    return value


def _positive(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field} must be a finite number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{field} must be > 0, got {value!r}")
    return float(value)


def _url(endpoint: Any) -> str:
    if not isinstance(endpoint, str):
        raise ValueError(f"endpoint must be an http(s) URL string, got {endpoint!r}")
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"endpoint must be an http:// or https:// URL with a host, got {endpoint!r}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"endpoint has an invalid port: {endpoint!r}") from None
    if parts.query or parts.fragment:
        raise ValueError(f"endpoint must not have a query or fragment, got {endpoint!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(semconv.METRICS_PATH):
        path += semconv.METRICS_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def _names(field: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"{field} must be a sequence of names, got {values!r}")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{field} must hold non-empty strings, got {name!r}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{field} has duplicate names: {dupes}")
    return names


def _features(features: Any) -> tuple[str, ...]:
    if features is None:
        return ()
    if isinstance(features, int) and not isinstance(features, bool):
        if features < 0:
            raise ValueError(f"features must be >= 0 when given as a count, got {features}")
        return tuple(f"f{i}" for i in range(features))
    return _names("features", features)


def _categorical(categorical: Any, features: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    if categorical is None:
        return {}
    if not isinstance(categorical, Mapping):
        raise ValueError(f"categorical must map feature names to categories, got {categorical!r}")
    out: dict[str, tuple[str, ...]] = {}
    for name, categories in categorical.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"categorical feature names must be non-empty strings, got {name!r}")
        if name in features:
            raise ValueError(f"categorical feature {name!r} is also a numeric feature")
        values = _names(f"categorical[{name!r}]", [str(c) for c in _seq(name, categories)])
        if len(values) > MAX_CATEGORIES:
            raise ValueError(
                f"categorical[{name!r}] has {len(values)} categories; at most {MAX_CATEGORIES}"
            )
        if semconv.OTHER_CATEGORY in values:
            raise ValueError(f"categorical[{name!r}] must not list {semconv.OTHER_CATEGORY!r}")
        out[name] = values
    return out


def _seq(name: str, categories: Any) -> Sequence[Any]:
    if isinstance(categories, str | bytes) or not isinstance(categories, Sequence):
        raise ValueError(f"categorical[{name!r}] must be a sequence of categories")
    return categories


def _classes(classes: Any) -> tuple[str | int, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not isinstance(classes, Sequence) or not classes:
        raise ValueError(f"classes must be a non-empty sequence of labels, got {classes!r}")
    labels = tuple(classes)
    as_text = [str(c) for c in labels]
    dupes = sorted({c for c in as_text if as_text.count(c) > 1})
    if dupes:
        raise ValueError(f"classes has duplicate labels: {dupes}")
    return labels


def default_spool_dir(model_name: str) -> Path:
    """``~/.cache/edgewatch/<model_name>`` (``$XDG_CACHE_HOME`` honoured)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache, "edgewatch", _SAFE_DIR.sub("_", model_name))


def validate(**kw: Any) -> Config:
    """Check every Monitor argument; raises ``ValueError`` naming the first bad field."""
    model_name = _text("model_name", kw["model_name"], optional=False)
    assert model_name is not None
    features = _features(kw["features"])
    attributes = kw["resource_attributes"] or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in attributes.items()
    ):
        raise ValueError(f"resource_attributes must map strings to strings, got {attributes!r}")
    samplers = kw["samplers"]
    if samplers is not None:
        samplers = tuple(samplers)
        for s in samplers:
            if not isinstance(s, Sampler):
                raise ValueError(f"samplers must implement Sampler (name, sample()), got {s!r}")
    transport = kw["transport"]
    if transport is not None and not isinstance(transport, Transport):
        raise ValueError(f"transport must implement Transport (post(...)), got {transport!r}")
    spool_max_bytes = kw["spool_max_bytes"]
    if isinstance(spool_max_bytes, bool) or not isinstance(spool_max_bytes, int):
        raise ValueError(f"spool_max_bytes must be an int, got {spool_max_bytes!r}")
    if spool_max_bytes < 64 * 1024:
        raise ValueError(f"spool_max_bytes must be >= 65536, got {spool_max_bytes}")
    max_buckets = kw["max_buckets"]
    if isinstance(max_buckets, bool) or not isinstance(max_buckets, int) or max_buckets < 4:
        raise ValueError(f"max_buckets must be an int >= 4, got {max_buckets!r}")
    max_pending = kw.get("max_pending_labels", 4096)
    if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 0:
        raise ValueError(f"max_pending_labels must be an int >= 0, got {max_pending!r}")
    spool_dir = kw["spool_dir"]
    if spool_dir is not None and not isinstance(spool_dir, str | os.PathLike):
        raise ValueError(f"spool_dir must be a path, got {spool_dir!r}")
    sampling = kw.get("sampling")
    if sampling is not None and not isinstance(sampling, SamplingConfig):
        raise ValueError(f"sampling must be a SamplingConfig or None, got {sampling!r}")
    categorical = _categorical(kw["categorical"], features)
    if sampling is not None:
        sampling.selected(features, tuple(categorical))
    return Config(
        model_name=model_name,
        model_version=_text("model_version", kw["model_version"], optional=False) or "",
        url=_url(kw["endpoint"]),
        token=_text("token", kw["token"], optional=True),
        device_id=_text("device_id", kw["device_id"], optional=True),
        fleet=_text("fleet", kw["fleet"], optional=True),
        features=features,
        categorical=categorical,
        classes=_classes(kw["classes"]),
        interval_s=_positive("interval_s", kw["interval_s"]),
        spool_dir=Path(spool_dir) if spool_dir is not None else default_spool_dir(model_name),
        spool_max_bytes=spool_max_bytes,
        hardware=_text("hardware", kw["hardware"], optional=True),
        runtime=_text("runtime", kw["runtime"], optional=True),
        resource_attributes=dict(attributes),
        samplers=samplers,
        transport=transport,
        timeout_s=_positive("timeout_s", kw["timeout_s"]),
        max_buckets=max_buckets,
        sampling=sampling,
        max_pending_labels=max_pending,
    )
