"""Sampled-row batches in the collector's own wire format, and a server with chosen settings."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from server_harness import LiveServer, serving

from edgewatch.collector._logs import encode_samples
from edgewatch.collector._reservoir import SampledRow


def resource(device: str, model: str = "digits", version: str = "v1") -> dict[str, str]:
    return {"device.id": device, "ml.model.name": model, "ml.model.version": version}


def sample_body(
    device: str,
    rows: Sequence[Mapping[str, float | str | None]],
    *,
    model: str = "digits",
    version: str = "v1",
    prediction: str | None = "3",
    at_ns: int | None = None,
) -> bytes:
    """A gzip ExportLogsServiceRequest with one record per row, as the collector encodes it."""
    now = at_ns or time.time_ns()
    sampled = [
        SampledRow(now - (len(rows) - i) * 1_000_000, dict(r), prediction, 0.9)
        for i, r in enumerate(rows)
    ]
    encoded = encode_samples(resource(device, model, version), sampled, 2**30)
    assert encoded is not None
    return encoded.body


def raw_request(body: bytes) -> bytes:
    return gzip.decompress(body)


def headers(token: str, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Idempotency-Key": key or uuid.uuid4().hex,
    }


def server_with(tmp_path: Path, **overrides: Any) -> AbstractContextManager[LiveServer]:
    """A live in-process server with the default limits and the given settings."""
    return serving(tmp_path, **overrides)
