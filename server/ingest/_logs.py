"""``ExportLogsServiceRequest`` → a ``Batch`` of sampled rows, rejecting bad records one by one.

Only records whose ``event.name`` is ``edgewatch.sample`` (attribute or field) and whose body
is a key-value list with a ``features`` key-value list are sampled rows; other log records
are rejected and counted (this server stores samples, not general logs). Pure, no clock.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from edgewatch.collector import semconv
from edgewatch.server.ingest._convert import (
    Converted,
    IngestLimits,
    _any_value,
    attributes_dict,
    device_id_of,
)
from edgewatch.server.store import (
    Batch,
    ExpHistogramRows,
    HistogramRows,
    NumericRows,
    SampleRows,
)

MAX_FEATURES = 1000
MAX_TEXT = 1000


class _RejectedError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def logs_device_ids(
    request: ExportLogsServiceRequest, token_device: str | None = None
) -> list[str | None]:
    """Device id of each ResourceLogs (for the token check before anything is stored)."""
    return [
        device_id_of(attributes_dict(rl.resource.attributes), token_device)
        for rl in request.resource_logs
    ]


def _features(body: Any) -> dict[str, float | str | None]:
    if not isinstance(body, dict) or not isinstance(body.get(semconv.SAMPLE_FEATURES), dict):
        raise _RejectedError("invalid_body", "body must be a key-value list with a 'features' list")
    features = body[semconv.SAMPLE_FEATURES]
    if len(features) > MAX_FEATURES:
        raise _RejectedError("invalid_body", f"more than {MAX_FEATURES} features in one row")
    out: dict[str, float | str | None] = {}
    for name, value in features.items():
        if isinstance(value, bool) or value is None:
            out[name] = None if value is None else float(value)
        elif isinstance(value, int | float):
            out[name] = float(value) if math.isfinite(value) else None
        elif isinstance(value, str) and len(value) <= MAX_TEXT:
            out[name] = value
        else:
            raise _RejectedError(
                "invalid_body", f"feature {name!r} must be a number, string or null"
            )
    return out


def _row(record: Any, limits: IngestLimits, received_ns: int) -> tuple[int, dict[str, Any], Any]:
    attrs = attributes_dict(record.attributes)
    event = attrs.get(semconv.EVENT_NAME) or record.event_name
    if event != semconv.SAMPLE_EVENT:
        raise _RejectedError("not_a_sample", f"event.name must be {semconv.SAMPLE_EVENT!r}")
    ts = record.time_unix_nano or record.observed_time_unix_nano
    if ts == 0:
        raise _RejectedError("missing_timestamp", "time_unix_nano is 0")
    if ts > received_ns + limits.max_future_skew_s * 1e9:
        raise _RejectedError("future_timestamp", "timestamp ahead of the server clock")
    if ts < received_ns - limits.max_age_s * 1e9:
        raise _RejectedError("too_old", "timestamp older than the retention window")
    body = _any_value(record.body)
    return ts, _features(body), body


def convert_logs(
    request: ExportLogsServiceRequest,
    *,
    received_s: float,
    limits: IngestLimits,
    batch_key: str | None = None,
    token_device: str | None = None,
) -> Converted:
    """Validate every log record and gather the sampled rows into a ``Batch``;
    ``token_device`` as for ``convert``."""
    received_ns = int(received_s * 1e9)
    rows = SampleRows()
    rejected: Counter[str] = Counter()
    details: dict[str, str] = {}
    first_device: str | None = None
    for rl in request.resource_logs:
        attrs = attributes_dict(rl.resource.attributes)
        device = device_id_of(attrs, token_device)
        records = [r for sl in rl.scope_logs for r in sl.log_records]
        if device is None:
            rejected["invalid_device_id"] += len(records)
            details.setdefault("invalid_device_id", "resource has no usable device.id")
            continue
        first_device = first_device or device
        for record in records:
            try:
                ts, features, body = _row(record, limits, received_ns)
            except _RejectedError as e:
                rejected[e.reason] += 1
                details.setdefault(e.reason, str(e))
                continue
            prediction = body.get(semconv.SAMPLE_PREDICTION)
            score = body.get(semconv.SAMPLE_SCORE)
            rows.device_id.append(device)
            rows.model_name.append(_text(attrs.get(semconv.MODEL_NAME)))
            rows.model_version.append(_text(attrs.get(semconv.MODEL_VERSION)))
            rows.ts_us.append(ts // 1000)
            rows.features_json.append(json.dumps(features, sort_keys=True))
            rows.prediction.append(_text(prediction))
            rows.score.append(
                float(score)
                if isinstance(score, int | float) and not isinstance(score, bool)
                else None
            )
    total = len(rows.ts_us) + sum(rejected.values())
    message = "; ".join(f"{n} of {total} records {r}: {details[r]}" for r, n in rejected.items())
    batch = Batch(
        received_us=received_ns // 1000,
        devices=(),
        metrics=(),
        new_series=(),
        numeric=NumericRows(),
        exp_histograms=ExpHistogramRows(),
        histograms=HistogramRows(),
        batch_key=batch_key,
        key_device_id=first_device if batch_key else None,
        samples=rows,
    )
    return Converted(batch, dict(rejected), message)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:MAX_TEXT]


def encode_logs_response(rejected: int, message: str, binary: bool) -> bytes:
    """ExportLogsServiceResponse with ``partial_success`` when records were rejected."""
    response = ExportLogsServiceResponse()
    if rejected or message:
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    if binary:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()
