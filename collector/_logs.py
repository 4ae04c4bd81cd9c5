"""Encode sampled rows as an OTLP ``ExportLogsServiceRequest``: one log record per row.

Each record's body is a key-value list ``{features: {name: value}, prediction, score}`` and
its ``event.name`` attribute is ``edgewatch.sample``; the resource is the metrics' resource.
Rows are added while they fit the byte budget, so a day's bytes are never exceeded.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from edgewatch.collector import semconv
from edgewatch.collector._encode import SCOPE_NAME
from edgewatch.collector._reservoir import SampledRow
from edgewatch.collector._version import VERSION


@dataclass(frozen=True, slots=True)
class EncodedSamples:
    """The gzip body to spool, how many rows it holds, its size and the rows that did not fit."""

    body: bytes
    rows: int
    size_bytes: int
    dropped: int


def _value(v: float | str | None) -> AnyValue:
    if v is None:
        return AnyValue()
    if isinstance(v, str):
        return AnyValue(string_value=v)
    return AnyValue(double_value=v)


def sample_record(row: SampledRow) -> logs_pb2.LogRecord:
    """One row as a log record."""
    features = KeyValueList(
        values=[KeyValue(key=k, value=_value(v)) for k, v in row.values.items()]
    )
    body = [KeyValue(key=semconv.SAMPLE_FEATURES, value=AnyValue(kvlist_value=features))]
    if row.prediction is not None:
        body.append(KeyValue(key=semconv.SAMPLE_PREDICTION, value=_value(row.prediction)))
    if row.score is not None:
        body.append(KeyValue(key=semconv.SAMPLE_SCORE, value=_value(row.score)))
    return logs_pb2.LogRecord(
        time_unix_nano=row.time_unix_nano,
        observed_time_unix_nano=row.time_unix_nano,
        severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
        body=AnyValue(kvlist_value=KeyValueList(values=body)),
        attributes=[
            KeyValue(key=semconv.EVENT_NAME, value=AnyValue(string_value=semconv.SAMPLE_EVENT))
        ],
    )


def encode_samples(
    resource: Mapping[str, str], rows: Sequence[SampledRow], max_bytes: int
) -> EncodedSamples | None:
    """The rows that fit in ``max_bytes`` (uncompressed record bytes) as one request, or None."""
    records = []
    size = 0
    for row in rows:
        record = sample_record(row)
        n = record.ByteSize()
        if size + n > max_bytes:
            break
        records.append(record)
        size += n
    if not records:
        return None
    request = ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=Resource(
                    attributes=[
                        KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in resource.items()
                    ]
                ),
                scope_logs=[
                    logs_pb2.ScopeLogs(
                        scope=InstrumentationScope(name=SCOPE_NAME, version=VERSION),
                        log_records=records,
                    )
                ],
            )
        ]
    )
    body = gzip.compress(request.SerializeToString(), compresslevel=6, mtime=0)
    return EncodedSamples(body, len(records), size, len(rows) - len(records))
