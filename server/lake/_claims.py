"""Commit groups and batch claims in PostgreSQL: how replicas store each batch once.

A replica's group commit is a numbered group (``ew_group_seq``) whose transaction on the
replica's state connection holds the advisory lock of that number until it ends. Before the
DuckLake commit the group is recorded ``pending`` and its Idempotency-Keys are claimed
(``ew_claims``, one row per key). The DuckLake commit carries the group (its number, its
registry rows and its new cumulative state) as its commit info, and DuckLake writes that
info in the same PostgreSQL transaction as the snapshot: a trigger there (``COMMIT_DDL``)
refuses the commit unless the group is still pending and its state transaction still holds
the group's lock, then applies the registry rows and cumulative state and marks the group
``committed``. So rows, registry, state and the group's decision land together or not at
all. A claim found by another replica is therefore:

- committed: the batch is stored, a duplicate;
- pending with its lock held: being stored right now by a live replica, retry shortly;
- pending with its lock free: its replica died or lost its state session, and nothing was
  stored (the trigger would have marked it committed). It is marked ``aborted`` under the
  group's row lock, which fences it: the trigger of a late DuckLake commit then finds it
  aborted and refuses it, so a group judged dead never becomes visible. The claim moves to
  the new group.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import psycopg

from edgewatch.server.lake._connect import METADATA_SCHEMA

LOCK_BASE = 0x4577_0000_0000_0000
"""Advisory lock key of group ``seq`` is ``LOCK_BASE + seq`` ("Ew" in the high bytes keeps
it apart from other users of advisory locks in the same database)."""

DEVICE_LOCK_BASE = 0x4564_0000_0000_0000
"""Advisory lock namespace of per-device cumulative state ("Ed" high bytes), held by a
group's state transaction while it converts the device's cumulative points."""

DEVICE_FENCE_BASE = 0x4566_0000_0000_0000
"""Advisory lock namespace ("Ef") a group's DuckLake commit holds on its cumulative devices
from the trigger's checks to the commit's end. A state transaction that has just taken a
device's lock waits on it (``lock_devices``): should the previous holder's state session
die after its trigger's checks, its commit and new state land before the next conversion
reads the state."""

FENCED = "edgewatch-fenced"
"""Marks the trigger's refusal of a group judged dead (in DuckDB's error text)."""

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
        elif state == "aborted":  # resolve released the claim, or an abort will
            moved = claims.execute(
                "UPDATE ew_claims SET seq = %s, claimed_at = now()"
                " WHERE device_id = %s AND batch_key = %s AND seq = %s RETURNING seq",
                [seq, *key, other],
            ).fetchone()
            if moved is None:
                moved = claims.execute(
                    "INSERT INTO ew_claims (device_id, batch_key, seq) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING seq",
                    [*key, seq],
                ).fetchone()
            out[key] = ClaimState.TAKEN_OVER if moved else ClaimState.IN_FLIGHT
        else:
            out[key] = ClaimState.IN_FLIGHT
    return out


def resolve(claims: psycopg.Connection, seq: int) -> str:
    """The state of group ``seq``. A pending group whose transaction has ended stored
    nothing (see the module docstring) and is marked aborted, releasing its claims. The row
    lock comes first: a DuckLake commit of the group in flight holds it, so this waits for
    that commit and then sees the group committed; once this holds it, that commit's trigger
    waits and then finds the group aborted."""
    with claims.transaction():
        row = claims.execute(
            "SELECT state FROM ew_groups WHERE seq = %s FOR UPDATE", [seq]
        ).fetchone()
        if row is None or row[0] != "pending":
            return "aborted" if row is None else str(row[0])
        free = claims.execute("SELECT pg_try_advisory_xact_lock(%s)", [group_lock(seq)]).fetchone()
        if not free or not free[0]:
            return "pending"
        # A group committed by an earlier version's writer (its state transaction marked it
        # after the DuckLake commit) is known by its snapshot.
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
    """Record that group ``seq`` stored nothing and release its claims, unless it is
    committed (a DuckLake commit reported failed may have landed: its trigger decides)."""
    with claims.transaction():
        row = claims.execute(
            "UPDATE ew_groups SET state = 'aborted' WHERE seq = %s AND state = 'pending'"
            " RETURNING seq",
            [seq],
        ).fetchone()
        if row is not None:
            claims.execute("DELETE FROM ew_claims WHERE seq = %s", [seq])


def lock_devices(state: psycopg.Connection, devices: Sequence[str]) -> None:
    """Take the cumulative locks of ``devices`` (sorted) in the state transaction and wait
    for any DuckLake commit still holding one of their fences (``DEVICE_FENCE_BASE``)."""
    state.execute(
        "SELECT pg_advisory_xact_lock(%s + h), pg_advisory_lock_shared(%s + h),"
        " pg_advisory_unlock_shared(%s + h)"
        " FROM (SELECT hashtext(d)::bigint & 2147483647 AS h FROM unnest(%b::text[]) AS u(d)"
        " ORDER BY d) AS s",
        [DEVICE_LOCK_BASE, DEVICE_FENCE_BASE, DEVICE_FENCE_BASE, list(devices)],
    )


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


COMMIT_DDL = f"""
CREATE OR REPLACE FUNCTION ew_commit_group() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
    p jsonb;
    g bigint;
    st text;
BEGIN
    IF NEW.author IS DISTINCT FROM 'edgewatch' OR NEW.commit_message IS DISTINCT FROM 'ingest'
    THEN
        RETURN NEW;
    END IF;
    p := NEW.commit_extra_info::jsonb;
    -- an earlier version's writer sends the bare group number and writes the rest itself
    g := CASE WHEN jsonb_typeof(p) = 'number' THEN p::text::bigint ELSE (p->>'seq')::bigint END;
    PERFORM pg_advisory_xact_lock({DEVICE_FENCE_BASE} + h) FROM (
        SELECT hashtext(d)::bigint & 2147483647 AS h
        FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p) = 'object'
                                            THEN p->'locked' ELSE '[]' END) AS d
        ORDER BY d) AS s;
    SELECT state INTO st FROM ew_groups WHERE seq = g FOR UPDATE;
    IF st IS DISTINCT FROM 'pending' THEN
        RAISE EXCEPTION '{FENCED}: group % is %, judged dead by another replica', g,
            coalesce(st, 'gone');
    END IF;
    IF pg_try_advisory_xact_lock({LOCK_BASE} + g) THEN
        RAISE EXCEPTION '{FENCED}: the state session of group % has ended', g;
    END IF;
    IF jsonb_typeof(p) = 'object' THEN
        INSERT INTO metrics (metric, kind, unit, description)
        SELECT e->>0, e->>1, e->>2, e->>3 FROM jsonb_array_elements(p->'metrics') AS e
        ON CONFLICT DO NOTHING;
        INSERT INTO series (device_id, metric, attrs, first_seen)
        SELECT e->>0, e->>1, e->>2, 'epoch'::timestamp + (e->>3)::bigint * interval '1 us'
        FROM jsonb_array_elements(p->'series') AS e
        ON CONFLICT DO NOTHING;
        INSERT INTO series_kinds (device_id, metric, attrs, kind, temporality, first_seen)
        SELECT e->>0, e->>1, e->>2, e->>3, e->>4,
               'epoch'::timestamp + (e->>5)::bigint * interval '1 us'
        FROM jsonb_array_elements(p->'kinds') AS e
        ON CONFLICT DO NOTHING;
        INSERT INTO devices (device_id, fleet, model_name, model_version, hardware, runtime,
                             host_arch, os_type, service_name, power_sources, attributes,
                             first_seen, last_seen, last_batch_key, clock_skew_s)
        SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8, e->>9, e->>10,
               t, t, e->>12, (e->>13)::float8
        FROM jsonb_array_elements(p->'devices') AS e,
             LATERAL (SELECT 'epoch'::timestamp + (e->>11)::bigint * interval '1 us' AS t) AS x
        ORDER BY 1
        ON CONFLICT (device_id) DO UPDATE SET
            fleet = excluded.fleet, model_name = excluded.model_name,
            model_version = excluded.model_version, hardware = excluded.hardware,
            runtime = excluded.runtime, host_arch = excluded.host_arch,
            os_type = excluded.os_type, service_name = excluded.service_name,
            power_sources = excluded.power_sources, attributes = excluded.attributes,
            last_seen = greatest(devices.last_seen, excluded.last_seen),
            last_batch_key = coalesce(excluded.last_batch_key, devices.last_batch_key),
            clock_skew_s = coalesce(excluded.clock_skew_s, devices.clock_skew_s);
        INSERT INTO cumulative_state (device_id, metric, attrs, kind, ts, state)
        SELECT e->>0, e->>1, e->>2, e->>3,
               'epoch'::timestamp + (e->>4)::bigint * interval '1 us', e->>5
        FROM jsonb_array_elements(p->'state') AS e
        ON CONFLICT (device_id, metric, attrs, kind)
        DO UPDATE SET ts = excluded.ts, state = excluded.state;
        UPDATE ew_groups SET state = 'committed' WHERE seq = g;
    END IF;
    NEW.commit_extra_info := g::text;  -- the catalog keeps the number, not the payload
    RETURN NEW;
END
$fn$;
CREATE OR REPLACE TRIGGER ew_commit_group BEFORE INSERT ON {METADATA_SCHEMA}.ducklake_snapshot_changes
FOR EACH ROW EXECUTE FUNCTION ew_commit_group();
"""
"""The group's commit inside DuckLake's catalog transaction (see the module docstring): the
fence (group pending, its state session alive, its devices' fences held), then the group's
registry rows and cumulative state, then the group marked committed. Ingest commits only
(author ``edgewatch``, message ``ingest``); the catalog keeps the bare group number."""
