"""OTLP/HTTP decoding and validation: bytes → validated columnar rows. Pure, no sockets."""

from __future__ import annotations

from edgewatch.server.ingest._cardinality import Admission, CardinalityLimiter
from edgewatch.server.ingest._convert import (
    DEVICE_ID_FALLBACKS,
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

__all__ = [
    "DEVICE_ID_FALLBACKS",
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
    "decode_request",
    "device_id_of",
    "encode_response",
    "encode_status",
    "encoding_of",
    "gunzip",
    "resource_device_ids",
]
