"""Uploaded files read within a byte limit: a declared Content-Length over the allowance is
refused before reading, and the body itself is read no further than one byte past the limit."""

from __future__ import annotations

from fastapi import Request, UploadFile

from edgewatch.server.ingest import PayloadTooLargeError


async def read_upload(
    request: Request, file: UploadFile, *, limit: int, declared_limit: int, what: str
) -> bytes:
    """The bytes of ``file`` (at most ``limit``); ``PayloadTooLargeError`` naming ``what``
    when the request declares more than ``declared_limit`` bytes or the file exceeds ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > declared_limit:
        raise PayloadTooLargeError(f"{what} upload of {declared} bytes exceeds {limit} bytes")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{what} file exceeds {limit} bytes")
    return data
