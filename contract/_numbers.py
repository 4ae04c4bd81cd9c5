"""Numbers in request bodies as JSON Schema reads them: a field annotated with
``JSON_NUMBER`` takes JSON numbers only (``1.0`` is an integer, ``true`` and ``"1"`` are not
numbers), where pydantic's lax mode would read a boolean or a numeric text as a number.

Put it after the field's bounds, ``Annotated[int, Field(ge=0), JSON_NUMBER] | None``: bounds
given outside it would not reach the OpenAPI document as ``minimum``/``maximum``."""

from __future__ import annotations

from pydantic import BeforeValidator


def _json_number(value: object) -> object:
    """Refuse what JSON Schema does not call a number: a boolean or text."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON number")
    return value


INT64_MAX = 2**63 - 1
"""The largest integer a request may carry: what the store's BIGINT columns and numpy hold."""

JSON_NUMBER = BeforeValidator(_json_number)
"""The validator marking a request field as a JSON number only."""
