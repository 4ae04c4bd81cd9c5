"""Bytes → ``ExportMetricsServiceRequest``: gzip, protobuf and the OTLP JSON mapping.

OTLP JSON differs from protobuf's canonical JSON in one way that matters: trace and span ids
are hex, not base64, so they are converted before parsing; an id that is not hex, or
exemplars that do not parse, are left out rather than refusing the request. Enums may be integers and 64-bit
integers strings or numbers; protobuf's JSON parser accepts both. Unknown fields are ignored,
as the OTLP spec asks of receivers.
"""

from __future__ import annotations

import base64
import json
import zlib
from enum import Enum
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from edgewatch.server.ingest._errors import (
    DecodeError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)


class Encoding(Enum):
    """Body encodings of OTLP/HTTP."""

    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


_MEDIA_TYPES = {
    "application/x-protobuf": Encoding.PROTOBUF,
    "application/protobuf": Encoding.PROTOBUF,
    "application/json": Encoding.JSON,
}
_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")
MAX_GZIP_MEMBERS = 64
"""Gzip members a body may hold: writers that append members (one per flush) make a few;
400,000 empty ones in 8 MB took minutes of the decode thread to read."""


def encoding_of(content_type: str | None) -> Encoding:
    """The body encoding named by a Content-Type header (parameters such as charset ignored)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        return _MEDIA_TYPES[media]
    except KeyError:
        raise UnsupportedMediaTypeError(
            f"unsupported Content-Type {content_type!r}: send application/x-protobuf or application/json"
        ) from None


def check_content_encoding(content_encoding: str | None) -> bool:
    """True when the body is gzip; ``UnsupportedMediaTypeError`` for anything but gzip/identity."""
    value = (content_encoding or "identity").strip().lower()
    if value == "gzip":
        return True
    if value in ("identity", ""):
        return False
    raise UnsupportedMediaTypeError(
        f"unsupported Content-Encoding {content_encoding!r}: use gzip or none"
    )


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Decompress a gzip body, refusing to produce more than ``max_bytes``.

    Every member is read (RFC 1952 allows several, and Go's reader, the Collector's, reads
    them all): stopping after the first would store part of the request and acknowledge it
    all. Bytes after the last member that are not another member are an error, and so are
    more than ``MAX_GZIP_MEMBERS`` (each member copies the rest of the body)."""
    out = bytearray()
    rest = body
    for _ in range(MAX_GZIP_MEMBERS):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as e:
            raise DecodeError(f"body is not valid gzip: {e}") from e
        if len(out) > max_bytes:
            raise PayloadTooLargeError(f"decompressed body exceeds {max_bytes} bytes")
        if not inflater.eof:
            raise DecodeError("body is not valid gzip: truncated stream")
        rest = inflater.unused_data
        if not rest:
            return bytes(out)
    raise DecodeError(f"body is not valid gzip: more than {MAX_GZIP_MEMBERS} members")


def decode_request(body: bytes, encoding: Encoding) -> ExportMetricsServiceRequest:
    """Parse an ExportMetricsServiceRequest; ``DecodeError`` says what failed."""
    request = ExportMetricsServiceRequest()
    decode_into(request, body, encoding, "resourceMetrics")
    return request


def decode_into(message: Message, body: bytes, encoding: Encoding, top: str) -> None:
    """Parse an OTLP export request of any signal into ``message`` (``top``: its list field)."""
    name = type(message).__name__
    if encoding is Encoding.PROTOBUF:
        try:
            message.ParseFromString(body)
        except ProtobufDecodeError as e:
            raise DecodeError(f"body is not a protobuf {name}: {e}") from e
        return
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DecodeError(f"body is not valid JSON: {e}") from e
    except RecursionError:
        raise DecodeError("body is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise DecodeError(f"JSON body must be an object with {top}")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as e:
        raise DecodeError(f"JSON body is not an OTLP {name}: {e}") from e
    except RecursionError:
        raise DecodeError("JSON body is nested too deeply for an OTLP request") from None


def _hex_ids_to_base64(node: Any) -> Any:
    """Rewrite OTLP JSON hex trace/span ids into the base64 protobuf's parser expects.

    A fault stays local: an id that is not hex is left out (ids are optional in OTLP and
    never stored here), and a point's exemplars that do not parse are left out, so one
    device's bad exemplar cannot refuse a relay's request for every device."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str):
            try:
                value = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                continue
        elif key == "exemplars":
            value = _usable_exemplars(value)
            if value is None:
                continue
        else:
            value = _hex_ids_to_base64(value)
        out[key] = value
    return out


def _usable_exemplars(node: Any) -> list[Any] | None:
    """A point's exemplars with protobuf-ready ids, or None when any of them does not parse
    (exemplars are optional detail: the point is kept without them)."""
    if not isinstance(node, list):
        return None
    exemplars = []
    for item in node:
        if not isinstance(item, dict):
            return None
        exemplar = {}
        for key, value in item.items():
            if key in _ID_FIELDS and isinstance(value, str):
                try:
                    value = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    return None
            exemplar[key] = value
        try:
            json_format.ParseDict(exemplar, metrics_pb2.Exemplar(), ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError, RecursionError):
            return None
        exemplars.append(exemplar)
    return exemplars


def encode_response(rejected: int, message: str, encoding: Encoding) -> bytes:
    """ExportMetricsServiceResponse with ``partial_success`` when points were rejected."""
    response = ExportMetricsServiceResponse()
    if rejected or message:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = message
    if encoding is Encoding.PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def encode_status(code: int, message: str, encoding: Encoding) -> bytes:
    """A ``google.rpc.Status`` body for an error answer, encoded like the request."""
    status = status_pb2.Status(code=code, message=message)
    if encoding is Encoding.PROTOBUF:
        return status.SerializeToString()
    return json_format.MessageToJson(status, indent=None).encode()
