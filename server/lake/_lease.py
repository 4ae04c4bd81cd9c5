"""One scheduler at a time: a PostgreSQL session advisory lock held by the leader replica.

Every replica polls ``pg_try_advisory_lock`` on its own connection every ``poll_s``; the one
that gets it runs rule evaluation, notification delivery, rollups, retention and lake
maintenance until its session ends. A killed leader's session closes with its socket, so
the lock is free at once and a follower takes over within ``poll_s``; a leader cut off from
PostgreSQL is dropped by the server's TCP keepalives (set on the session, about 11 s) and
stops itself when its own health check fails (fail-stop: it exits rather than risk two
schedulers)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg

log = logging.getLogger(__name__)

LEASE_KEY = 0x4573_6368_6564_0001
APPLICATION_NAME = "edgewatch-lease:{pid}"
"""The lease session's ``application_name`` in ``pg_stat_activity``: who holds the lease."""
"""The scheduler lease's advisory lock key ("Esched" + 1)."""


class SchedulerLease:
    """Polls for the lease; calls ``on_acquired`` once when won and ``on_lost`` if it goes."""

    def __init__(
        self,
        catalog: str,
        *,
        poll_s: float = 2.0,
        on_lost: Callable[[], None],
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll_s must be > 0, got {poll_s}")
        self._catalog = catalog
        self._poll_s = poll_s
        self._on_lost = on_lost
        self._acquired: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._held = threading.Event()
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="edgewatch-lease", daemon=True)

    @property
    def held(self) -> bool:
        """Whether this replica is the scheduler now."""
        return self._held.is_set()

    def when_acquired(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this replica holds the lease (at once if it already does)."""
        with self._lock:
            if not self._held.is_set():
                self._acquired.append(fn)
                return
        fn()

    def wait(self, timeout_s: float) -> bool:
        """Block until the lease is held or ``timeout_s`` passed; whether it is held."""
        return self._held.wait(timeout_s)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and release the lease by closing the session."""
        self._stop.set()
        self._thread.join(self._poll_s + 5.0)
        if self._conn is not None:
            self._conn.close()

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self._catalog,
            autocommit=True,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            application_name=APPLICATION_NAME.format(pid=os.getpid()),
        )
        # The server side drops a vanished leader's session (and so its lock) as fast.
        conn.execute("SET tcp_keepalives_idle = 5")
        conn.execute("SET tcp_keepalives_interval = 2")
        conn.execute("SET tcp_keepalives_count = 3")
        return conn

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                if not self._held.is_set():
                    row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", [LEASE_KEY])
                    got = row.fetchone()
                    if got and got[0]:
                        self._become_leader()
                else:
                    self._conn.execute("SELECT 1")
            except psycopg.Error as e:
                if self._held.is_set():
                    log.critical("scheduler lease lost (%s): stopping this replica", e)
                    self._on_lost()
                    return
                log.warning("cannot reach PostgreSQL for the scheduler lease: %s", e)
                self._conn = None
            self._stop.wait(self._poll_s)

    def _become_leader(self) -> None:
        log.info("this replica holds the scheduler lease")
        with self._lock:
            self._held.set()
            callbacks, self._acquired = self._acquired, []
        for fn in callbacks:
            try:
                fn()
            except Exception:
                log.exception("starting the scheduler failed")
