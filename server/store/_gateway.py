"""The one path every read and write of the DuckDB store takes, translating DuckDB errors.

Reads run on the calling thread's own cursor (DuckDB cursors are not shared between
threads); writes run on the single writer thread in one transaction each. Either way a
``duckdb.Error`` leaves as a :class:`StoreError` (the store's own errors pass unchanged), so
no caller outside ``edgewatch.server.store`` ever sees a DuckDB type or error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import TypeVar

import duckdb

from edgewatch.server.store._errors import StoreClosedError, StoreError
from edgewatch.server.store._writer import Writer

T = TypeVar("T")

LONG_WRITE_S = 600.0
"""How long token, sampling and retention writes wait for the writer (they may queue behind a
retention run); other writes wait ``Gateway.write``'s default."""

Query = Callable[[duckdb.DuckDBPyConnection], T]
"""A function of a cursor: one read, or one write transaction."""


class Gateway:
    """Thread-local read cursors over one connection, and the writer for writes."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        writer: Writer,
        open_cursor: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    ) -> None:
        """``open_cursor`` makes a new read cursor (default: ``con.cursor``; a lake replica's
        sets its search path first)."""
        self._con = con
        self._open_cursor = open_cursor or con.cursor
        self.writer = writer
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise StoreClosedError("the store is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._open_cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def read(self, fn: Query[T]) -> T:
        """``fn(cursor)`` on this thread's cursor."""
        try:
            return fn(self._cursor())
        except duckdb.Error as e:
            raise StoreError(f"storage failed: {e}") from e

    def write(self, fn: Query[T], timeout_s: float = 60.0) -> T:
        """``fn(cursor)`` on the writer thread in one transaction; committed on return.
        ``timeout_s`` bounds the wait behind other writer work (``LONG_WRITE_S`` for jobs
        that may queue behind retention)."""
        try:
            return self.writer.call(fn).result(timeout_s)
        except FutureTimeoutError:
            raise StoreError(f"the writer did not finish within {timeout_s} s") from None
        except duckdb.Error as e:
            raise StoreError(f"storage failed: {e}") from e

    def close(self) -> None:
        """Close every read cursor (the connection and writer belong to the store)."""
        self._closed = True
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
