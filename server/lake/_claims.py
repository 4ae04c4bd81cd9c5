"""Commit groups and batch claims in PostgreSQL: how replicas store each batch once.

A replica's group commit is a numbered group (``ew_group_seq``) whose transaction on the
replica's state connection holds the advisory lock of that number until it ends. Before the
DuckLake commit the group is recorded ``pending`` and its Idempotency-Keys are claimed
(``ew_claims``, one row per key); the DuckLake commit carries the group number as its
commit info; the state transaction then marks the group ``committed``. A claim found by
another replica is therefore:

- committed: the batch is stored, a duplicate;
- pending with its lock held: being stored right now by a live replica, retry shortly;
- pending with its lock free: its replica died or failed. If a DuckLake snapshot carries the
  group number the rows are in, a duplicate; otherwise nothing was stored and the claim
  moves to the new group.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import psycopg

from edgewatch.server.lake._connect import METADATA_SCHEMA

LOCK_BASE = 0x4577_0000_0000_0000
"""Advisory lock key of group ``seq`` is ``LOCK_BASE + seq`` ("Ew" in the high bytes keeps
it apart from other users of advisory locks in the same database)."""

Key = tuple[str, str]
"""(device_id, batch key)."""


class ClaimState(Enum):
    """What a key already claimed by another group means for this one."""

    STORED = "stored"
    IN_FLIGHT = "in_flight"
    TAKEN_OVER = "taken_over"


def group_lock(seq: int) -> int:
    """The advisory lock key held by group ``seq``'s transaction."""
    return LOCK_BASE + seq


def begin_group(claims: psycopg.Connection, state: psycopg.Connection, owner: str) -> int:
    """Record a new pending group and open its state transaction, which holds the group's
    lock until it ends. Numbers are handed out under a table lock, so a group becomes visible
    in number order (``committed_watermark`` relies on it); the state is read again once the
    lock is held, as a replica may have judged the group dead in between."""
    with claims.transaction():
        claims.execute("LOCK TABLE ew_groups IN SHARE ROW EXCLUSIVE MODE")
        row = claims.execute(
            "INSERT INTO ew_groups (seq, state, owner)"
            " VALUES (nextval('ew_group_seq'), 'pending', %s) RETURNING seq",
            [owner],
        ).fetchone()
    assert row is not None
    seq = int(row[0])
    state.execute("SELECT pg_advisory_xact_lock(%s)", [group_lock(seq)])
    now = state.execute("SELECT state FROM ew_groups WHERE seq = %s", [seq]).fetchone()
    if now is None or now[0] != "pending":
        raise psycopg.errors.LockNotAvailable(f"group {seq} was judged dead before it began")
    return seq


def claim(claims: psycopg.Connection, seq: int, keys: Sequence[Key]) -> set[Key]:
    """Claim ``keys`` for group ``seq``; returns the keys some other group claimed first."""
    if not keys:
        return set()
    ordered = sorted(set(keys))
    with claims.transaction():
        won = claims.execute(
            "INSERT INTO ew_claims (device_id, batch_key, seq)"
            " SELECT d, k, %s FROM unnest(%b::text[], %b::text[]) AS u(d, k) ORDER BY d, k"
            " ON CONFLICT DO NOTHING RETURNING device_id, batch_key",
            [seq, [k[0] for k in ordered], [k[1] for k in ordered]],
        ).fetchall()
    return set(ordered) - {(r[0], r[1]) for r in won}


def settle(claims: psycopg.Connection, seq: int, keys: Sequence[Key]) -> dict[Key, ClaimState]:
    """Decide each key claimed by another group (see the module docstring); a key whose group
    stored nothing is moved to group ``seq``."""
    out: dict[Key, ClaimState] = {}
    for key in sorted(keys):
        row = claims.execute(
            "SELECT c.seq, g.state FROM ew_claims c JOIN ew_groups g USING (seq)"
            " WHERE c.device_id = %s AND c.batch_key = %s",
            list(key),
        ).fetchone()
        if row is None:  # its group was aborted and the claim released since: take it
            won = claims.execute(
                "INSERT INTO ew_claims (device_id, batch_key, seq) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING seq",
                [*key, seq],
            ).fetchone()
            out[key] = ClaimState.TAKEN_OVER if won else ClaimState.IN_FLIGHT
            continue
        other, state = int(row[0]), str(row[1])
        if state == "pending":
            state = resolve(claims, other)
        if state == "committed":
            out[key] = ClaimState.STORED
        elif state == "aborted":
            moved = claims.execute(
                "UPDATE ew_claims SET seq = %s, claimed_at = now()"
                " WHERE device_id = %s AND batch_key = %s AND seq = %s RETURNING seq",
                [seq, *key, other],
            ).fetchone()
            out[key] = ClaimState.TAKEN_OVER if moved else ClaimState.IN_FLIGHT
        else:
            out[key] = ClaimState.IN_FLIGHT
    return out


def resolve(claims: psycopg.Connection, seq: int) -> str:
    """The state of group ``seq``: a pending group whose transaction has ended is decided by
    whether a DuckLake snapshot carries its number (and recorded, releasing its claims when
    it stored nothing)."""
    with claims.transaction():
        row = claims.execute("SELECT state FROM ew_groups WHERE seq = %s", [seq]).fetchone()
        if row is None or row[0] != "pending":
            return "aborted" if row is None else str(row[0])
        free = claims.execute("SELECT pg_try_advisory_xact_lock(%s)", [group_lock(seq)]).fetchone()
        if not free or not free[0]:
            return "pending"
        stored = claims.execute(
            f"SELECT 1 FROM {METADATA_SCHEMA}.ducklake_snapshot_changes"
            " WHERE commit_extra_info = %s LIMIT 1",
            [str(seq)],
        ).fetchone()
        state = "committed" if stored else "aborted"
        claims.execute("UPDATE ew_groups SET state = %s WHERE seq = %s", [state, seq])
        if state == "aborted":
            claims.execute("DELETE FROM ew_claims WHERE seq = %s", [seq])
        return state


def abort(claims: psycopg.Connection, seq: int) -> None:
    """Record that group ``seq`` stored nothing and release its claims."""
    with claims.transaction():
        claims.execute("UPDATE ew_groups SET state = 'aborted' WHERE seq = %s", [seq])
        claims.execute("DELETE FROM ew_claims WHERE seq = %s", [seq])


def resolve_orphans(claims: psycopg.Connection) -> int:
    """Decide every pending group whose replica is gone; returns how many were decided."""
    pending = claims.execute("SELECT seq FROM ew_groups WHERE state = 'pending' ORDER BY seq")
    decided = 0
    for (seq,) in pending.fetchall():
        if resolve(claims, int(seq)) != "pending":
            decided += 1
    return decided


def committed_watermark(claims: psycopg.Connection) -> int:
    """The highest group number below which every group is decided: rollups may read raw
    rows up to it without missing a group that commits later. The share lock waits for a
    number being handed out (see ``begin_group``)."""
    with claims.transaction():
        claims.execute("LOCK TABLE ew_groups IN SHARE MODE")
        row = claims.execute(
            "SELECT coalesce((SELECT min(seq) - 1 FROM ew_groups WHERE state = 'pending'),"
            " (SELECT max(seq) FROM ew_groups), 0)"
        ).fetchone()
    return int(row[0]) if row else 0


def prune(claims: psycopg.Connection, older_than_s: float) -> None:
    """Forget claims older than the idempotency window and decided groups no claim needs
    (the newest group stays: it carries the watermark)."""
    with claims.transaction():
        claims.execute(
            "DELETE FROM ew_claims WHERE claimed_at < now() - make_interval(secs => %s)",
            [older_than_s],
        )
        claims.execute(
            "DELETE FROM ew_groups g WHERE state <> 'pending'"
            " AND created_at < now() - make_interval(secs => %s)"
            " AND seq < (SELECT max(seq) FROM ew_groups)"
            " AND NOT EXISTS (SELECT 1 FROM ew_claims c WHERE c.seq = g.seq)",
            [older_than_s],
        )
