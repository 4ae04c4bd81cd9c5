"""A throwaway PostgreSQL cluster and lake replicas on loopback, for the scale-out tests and
bench/scaleout.py. PostgreSQL refuses to run as root, so as root the cluster runs as
``nobody``; without the PostgreSQL binaries or the ``[scale]`` extra, ``unavailable`` says
why (the tests skip with that reason)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from live_server import free_port, server_command, wait_ready

PG_ROOT = Path("/usr/lib/postgresql")
"""Where Debian installs each PostgreSQL major version (15 on bookworm, 17 on trixie), off PATH."""


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(PG_ROOT.glob("*/bin"), key=lambda d: d.parent.name, reverse=True)
    return next((str(d / name) for d in versions if (d / name).exists()), None)


def unavailable() -> str | None:
    """Why a lake cannot be tested here, or ``None``."""
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        return "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    from edgewatch.server.lake import extensions_available

    if not extensions_available():
        return "the [scale] extra (DuckDB ducklake/postgres extensions) is not installed"
    return None


@dataclass(frozen=True, slots=True)
class Postgres:
    """A running cluster: ``url(db)`` connects to database ``db``."""

    port: int
    root: Path

    def url(self, db: str = "edgewatch") -> str:
        return f"postgresql://edgewatch@127.0.0.1:{self.port}/{db}"

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the cluster has used so far: the postmaster with the
        backends it has reaped, plus those still running (benchmarks count PostgreSQL's work
        as the servers' own, since replicas move work into it)."""
        head = (self.root / "data" / "postmaster.pid").read_text().split("\n", 1)[0]
        postmaster = int(head)
        total = _proc_cpu_s(postmaster, children=True)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # exited while we looked
                continue
            if int(text.rsplit(")", 1)[1].split()[1]) == postmaster:
                total += _cpu_fields(text, children=False)
        return total

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as pg:
            pg.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _cpu_fields(stat: str, *, children: bool) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped children
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int, *, children: bool) -> float:
    return _cpu_fields(Path(f"/proc/{pid}/stat").read_text(), children=children)


def _as_unprivileged(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


@contextmanager
def postgres() -> Iterator[Postgres]:
    """initdb a cluster into a temporary directory, start it on a free loopback port (fsync
    off: a test cluster), and remove it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="edgewatch-pg-"))
    if os.geteuid() == 0:
        os.chown(root, pwd.getpwnam("nobody").pw_uid, -1)
    data = root / "data"
    port = free_port()
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    assert initdb and pg_ctl
    subprocess.run(
        _as_unprivileged(
            [initdb, "-D", str(data), "-U", "edgewatch", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        _as_unprivileged(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield Postgres(port, root)
    finally:
        subprocess.run(
            _as_unprivileged([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Replica:
    """One ``edgewatch server --store ducklake`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """kill -9."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_replica(
    catalog: str,
    data_path: Path | str,
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> Replica:
    """A replica on a free port, ready to serve; ``env`` adds to its environment (the
    object store's settings, for one)."""
    port = free_port()
    log = workdir / f"replica-{port}.log"
    cmd = server_command(
        workdir / "unused.duckdb", port, "--insecure-dev", "--log-level", "warning"
    )
    cmd += ["--store", "ducklake", "--catalog", catalog, "--data-path", str(data_path), *args]
    full_env = {
        **os.environ,
        "EDGEWATCH_LEASE_POLL_S": "0.5",
        "EDGEWATCH_ROLLUP_INTERVAL_S": "1",
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc, timeout_s=60.0, log=log)
    return Replica(proc, url, log)


def lease_holder_pid(catalog: str) -> int | None:
    """The pid of the replica holding the scheduler lease, from its session's name."""
    import psycopg

    from edgewatch.server.lake._lease import LEASE_KEY

    with psycopg.connect(catalog, autocommit=True) as pg:
        row = pg.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            [LEASE_KEY],
        ).fetchone()
    return int(str(row[0]).rsplit(":", 1)[1]) if row else None


def wait_for(predicate: object, timeout_s: float, what: str) -> float:
    """Poll ``predicate()`` until true; seconds it took (fails after ``timeout_s``)."""
    assert callable(predicate)
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    raise TimeoutError(f"{what} not within {timeout_s} s")
