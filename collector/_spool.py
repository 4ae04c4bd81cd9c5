"""The on-disk spool: every export batch is written here before it is sent.

One file per batch, named ``<sequence>-<idempotency key>[.n<inferences>].otlp.gz``
(``.logs.otlp.gz`` for sampled rows, which go to ``/v1/logs``) so that the order, the key, the
signal and the number of inferences inside survive a restart. Writes are crash-safe (temp file
→ fsync → rename → fsync of the directory): after ``kill -9`` a batch is either wholly in the
spool or was never there. A batch is deleted only after the server acknowledged it;
400/413-style rejections move it to ``quarantine/`` for inspection. The spool is bounded by
bytes: at the cap the oldest batches are dropped and counted; ``on_drop`` hears of every batch
lost (see ``_drops``).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NAME = re.compile(
    r"^(?P<seq>[0-9]{16})-(?P<key>[0-9a-f]{32})(?:\.n(?P<n>[0-9]{1,18}))?"
    r"(?:\.(?P<signal>logs))?\.otlp\.gz$"
)
METRICS, LOGS = "metrics", "logs"
"""The OTLP signal of a batch: which endpoint it goes to."""
# Why a batch was lost (``edgewatch.reason`` of the batch and inference totals).
SPOOL_FULL = "spool_full"
"""Dropped oldest-first to keep the spool under ``spool_max_bytes``."""
TOO_LARGE = "too_large"
"""A single batch bigger than ``spool_max_bytes``."""
QUARANTINED = "quarantined"
"""Rejected by the server for good (4xx); kept in ``quarantine/`` for inspection."""
UNREADABLE = "unreadable"
"""A spooled batch that could no longer be read back."""
SPOOL_ERROR = "spool_error"
"""The batch could not be written to the spool (disk full, read-only file system ...)."""
_TMP_SUFFIX = ".tmp"
MAX_QUARANTINED = 64
"""Quarantined batches kept for inspection; older ones are deleted."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch file in the spool."""

    seq: int
    key: str
    size_bytes: int
    path: Path
    signal: str = METRICS
    inferences: int = 0
    """Inferences summarised in the batch: what is lost with it."""


DropListener = Callable[[str, int], None]
"""Called with (reason, inferences) for every batch lost; must not raise."""


class Spool:
    """A bounded, crash-safe FIFO of export batches in ``directory`` (see module docstring)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int,
        on_drop: DropListener | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"spool_max_bytes must be > 0, got {max_bytes!r}")
        self.directory = Path(directory)
        self.batches_dir = self.directory / "batches"
        self.quarantine_dir = self.directory / "quarantine"
        self.max_bytes = max_bytes
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._items: list[SpooledBatch] = []
        self._bytes = 0
        self.dropped = 0
        self.quarantined = 0
        self.on_drop = on_drop
        self._recover()
        self._next_seq = self._items[-1].seq + 1 if self._items else 0

    def _recover(self) -> None:
        """Index the batches a previous process left; delete half-written temp files."""
        for path in sorted(self.batches_dir.iterdir()):
            m = _NAME.match(path.name)
            if m is None:
                if path.name.endswith(_TMP_SUFFIX):
                    path.unlink(missing_ok=True)
                continue
            size = path.stat().st_size
            signal = m["signal"] or METRICS
            n = int(m["n"] or 0)
            self._items.append(SpooledBatch(int(m["seq"]), m["key"], size, path, signal, n))
            self._bytes += size

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def put(
        self, body: bytes, key: str | None = None, signal: str = METRICS, inferences: int = 0
    ) -> SpooledBatch | None:
        """Store a batch durably; returns ``None`` (counted as dropped) if it alone exceeds the cap."""
        if signal not in (METRICS, LOGS):
            raise ValueError(f"signal must be {METRICS!r} or {LOGS!r}, got {signal!r}")
        key = key or uuid.uuid4().hex
        with self._lock:
            if len(body) > self.max_bytes:
                self.dropped += 1
                self._dropped_locked(TOO_LARGE, inferences)
                return None
            self._make_room_locked(len(body))
            seq = self._next_seq
            self._next_seq += 1
            count = f".n{inferences}" if inferences > 0 else ""
            suffix = ".logs.otlp.gz" if signal == LOGS else ".otlp.gz"
            path = self.batches_dir / f"{seq:016d}-{key}{count}{suffix}"
            write_durably(path, body)
            batch = SpooledBatch(seq, key, len(body), path, signal, max(0, inferences))
            self._items.append(batch)
            self._bytes += batch.size_bytes
            return batch

    def make_room(self, size_bytes: int) -> int:
        """Drop the oldest batches until ``size_bytes`` more fit under the cap; how many went.

        Lets a caller count the losses that storing a batch causes before it stamps them
        into that batch (a batch over the cap on its own drops nothing here)."""
        if size_bytes > self.max_bytes:
            return 0
        with self._lock:
            return self._make_room_locked(size_bytes)

    def _make_room_locked(self, size_bytes: int) -> int:
        dropped = 0
        while self._items and self._bytes + size_bytes > self.max_bytes:
            oldest = self._items[0]
            self._remove_locked(oldest)
            self.dropped += 1
            dropped += 1
            self._dropped_locked(SPOOL_FULL, oldest.inferences)
        return dropped

    def oldest(self) -> SpooledBatch | None:
        with self._lock:
            return self._items[0] if self._items else None

    def read(self, batch: SpooledBatch) -> bytes:
        return batch.path.read_bytes()

    def remove(self, batch: SpooledBatch, lost: str | None = None) -> None:
        """Forget a batch: after the server acknowledged it, or ``lost`` for this reason."""
        with self._lock:
            self._remove_locked(batch)
            if lost is not None:
                self._dropped_locked(lost, batch.inferences)

    def _dropped_locked(self, reason: str, inferences: int) -> None:
        if self.on_drop is not None:
            self.on_drop(reason, inferences)

    def _remove_locked(self, batch: SpooledBatch) -> None:
        if batch in self._items:
            self._items.remove(batch)
            self._bytes -= batch.size_bytes
        batch.path.unlink(missing_ok=True)

    def quarantine(self, batch: SpooledBatch) -> None:
        """Move a batch the server rejected for good out of the queue, keeping it for inspection."""
        with self._lock:
            if batch in self._items:
                self._items.remove(batch)
                self._bytes -= batch.size_bytes
            self.quarantined += 1
            self._dropped_locked(QUARANTINED, batch.inferences)
            try:
                os.replace(batch.path, self.quarantine_dir / batch.path.name)
            except FileNotFoundError:
                return
            kept = sorted(self.quarantine_dir.iterdir())
            for old in kept[: max(0, len(kept) - MAX_QUARANTINED)]:
                old.unlink(missing_ok=True)


def write_durably(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def lock_spool(spool_dir: Path) -> Any:
    """Hold an exclusive lock on the spool: two Monitors sharing one would resend each other's batches."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, one Monitor per spool is on the user
        return None
    handle = open(spool_dir / "lock", "a+b")  # noqa: SIM115 - held for the Monitor's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ValueError(
            f"spool_dir {str(spool_dir)!r} is in use by another Monitor; give each its own"
        ) from None
    return handle


def unlock_spool(handle: Any) -> None:
    if handle is not None:
        handle.close()
