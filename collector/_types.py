"""The collector's plug points: samplers that read the device, and the transport that sends batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Reading:
    """One gauge value a sampler read, named by a ``semconv`` metric name (e.g. ``hw.power``)."""

    metric: str
    value: float
    attributes: Mapping[str, str] = field(default_factory=dict)
    unit: str = ""


@runtime_checkable
class Sampler(Protocol):
    """Reads one aspect of the device (memory, CPU, a power source ...) on the collector's thread.

    ``sample`` may raise; the Monitor counts the error under ``name`` and carries on.
    """

    name: str

    def sample(self) -> Sequence[Reading]: ...


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """What came back from the server for one batch."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP POST; raises ``OSError`` (e.g. ``ConnectionError``, ``TimeoutError``) on network failure."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> TransportResponse: ...


class SamplerError(Exception):
    """Raised by a sampler when some of its sources failed: the rest still count.

    The Monitor exports ``readings`` and adds ``errors`` to the sampler's error count.
    """

    def __init__(self, readings: Sequence[Reading], errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.readings = list(readings)
        self.errors = list(errors)
