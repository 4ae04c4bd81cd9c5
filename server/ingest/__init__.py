"""OTLP/HTTP decoding and validation: bytes → validated columnar rows. Pure, no sockets."""

from __future__ import annotations

from edgewatch.server.ingest._cardinality import Admission, CardinalityLimiter
from edgewatch.server.ingest._convert import (
    DEVICE_ID_FALLBACKS,
    MAX_HISTOGRAM_BUCKETS,
    Converted,
    IngestLimits,
    attributes_dict,
    convert,
    device_id_of,
    resource_device_ids,
)
from edgewatch.server.ingest._decode import (
    Encoding,
    check_content_encoding,
    decode_into,
    decode_request,
    encode_response,
    encode_status,
    encoding_of,
    gunzip,
)
from edgewatch.server.ingest._errors import (
    DecodeError,
    IngestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from edgewatch.server.ingest._logs import convert_logs, encode_logs_response, logs_device_ids

__all__ = [
    "DEVICE_ID_FALLBACKS",
    "MAX_HISTOGRAM_BUCKETS",
    "Admission",
    "CardinalityLimiter",
    "Converted",
    "DecodeError",
    "Encoding",
    "IngestError",
    "IngestLimits",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "attributes_dict",
    "check_content_encoding",
    "convert",
    "convert_logs",
    "decode_into",
    "decode_request",
    "device_id_of",
    "encode_logs_response",
    "encode_response",
    "encode_status",
    "encoding_of",
    "gunzip",
    "logs_device_ids",
    "resource_device_ids",
]
