"""The ``edgewatch`` command line: one sub-command per process or admin task."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from edgewatch.server import _rollout_cli, cli_evidence, cli_lake, cli_rules
from edgewatch.server._remote_cli import add_parsers, run_remote
from edgewatch.server.settings import Settings, SettingsError, load_settings

DEFAULT_DB = Settings.model_fields["db_path"].default
# The dashboard reads these (see dashboard/_config.py); it never imports the server.
DASHBOARD_SERVER_ENV = "EDGEWATCH_DASHBOARD_SERVER"
DASHBOARD_TOKEN_ENV = "EDGEWATCH_DASHBOARD_TOKEN"
REMOTE_COMMANDS = ("baseline", "silence", "alerts")
GC_GEN0_THRESHOLD = 10_000
"""Allocations between young-generation collections in the server process (Python's default
is 700). Each export allocates thousands of short-lived containers, so the default ran the
cyclic collector several times per request; 10,000 took ingest from 31,000-34,500 to
35,800-37,800 points/s in interleaved runs (docs/benchmarks.md)."""


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="edgewatch", description="Monitoring for ML models on edge devices."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="server + dashboard + demo fleet on the embedded DuckDB default")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=Path("edgewatch-data"),
        help="DuckDB file, admin token, logs and demo spools (default ./edgewatch-data)",
    )
    up.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=_port, default=4318, help="server port (default 4318)")
    up.add_argument(
        "--dashboard-port", type=_port, default=8501, help="dashboard port (default 8501)"
    )
    up.add_argument("--devices", type=int, help="demo devices (default: the demo scenario's 14)")
    up.add_argument("--speed", type=float, default=60.0, help="demo time compression (default 60)")
    up.add_argument("--no-demo", action="store_true", help="do not start the demo fleet")
    up.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")

    sub.add_parser(
        "demo",
        add_help=False,
        help="run the demo fleet against a server (see edgewatch demo --help)",
    )

    sub.add_parser(
        "profile",
        add_help=False,
        help="profile an ONNX model on this device (see edgewatch profile --help)",
    )

    server = sub.add_parser("server", help="run the OTLP ingest + query API server")
    server.add_argument("--db", type=Path, help=f"DuckDB file (default {DEFAULT_DB})")
    server.add_argument(
        "--store",
        choices=("duckdb", "ducklake"),
        help="storage backend (default duckdb: the embedded file; ducklake: a lake shared by"
        " replicas, needs --catalog and --data-path, docs/scale-out.md)",
    )
    server.add_argument("--catalog", help="PostgreSQL URL of the lake's catalog (--store ducklake)")
    server.add_argument(
        "--data-path", help="directory or s3:// URL of the lake's Parquet files (--store ducklake)"
    )
    server.add_argument("--host", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, help="port to bind (default 4318, the OTLP/HTTP port)")
    server.add_argument("--config", type=Path, help="YAML settings file (see docs/operations.md)")
    server.add_argument(
        "--rules", type=Path, help="alert rules YAML (default: the built-in rules; docs/alerts.md)"
    )
    server.add_argument(
        "--rule-time-scale",
        type=float,
        help="divide every rule duration by this factor, for a time-compressed fleet such as"
        " the demo (default 1; docs/alerts.md)",
    )
    server.add_argument("--ssl-certfile", type=Path, help="TLS certificate (PEM) to serve HTTPS")
    server.add_argument("--ssl-keyfile", type=Path, help="TLS private key (PEM)")
    server.add_argument(
        "--insecure-dev",
        action="store_true",
        help="accept requests without tokens (development only; logged loudly)",
    )
    server.add_argument("--log-level", default=None, help="uvicorn log level (default info)")

    dashboard = sub.add_parser("dashboard", help="run the Streamlit dashboard against a server")
    dashboard.add_argument(
        "--server",
        default="http://127.0.0.1:4318",
        help="the edgewatch server's URL (default http://127.0.0.1:4318)",
    )
    dashboard.add_argument(
        "--token",
        default=os.environ.get(DASHBOARD_TOKEN_ENV),
        help=f"an admin token of that server (default: ${DASHBOARD_TOKEN_ENV})",
    )
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    dashboard.add_argument("--port", type=int, default=8501, help="port to bind (default 8501)")

    token = sub.add_parser("token", help="create, revoke or list tokens (server stopped)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a device or admin token")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", help="device id the token may write")
    who.add_argument("--admin", action="store_true", help="an admin token for the query API")
    create.add_argument("--name", default="", help="a note to recognise the token by")
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    token_sub.add_parser("list", help="list tokens (never their secrets)")
    for p in (create, revoke, token_sub.choices["list"]):
        p.add_argument("--db", type=Path, help=f"DuckDB file (default {DEFAULT_DB})")
        p.add_argument("--config", type=Path, help="YAML settings file")
    add_parsers(sub)
    cli_evidence.add_parsers(sub)
    _rollout_cli.add_parsers(sub)
    cli_rules.add_parsers(sub)
    cli_lake.add_parsers(sub)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from edgewatch.server.app import create_app

    settings = load_settings(
        args.config,
        db_path=args.db,
        store=args.store,
        catalog=args.catalog,
        data_path=args.data_path,
        host=args.host,
        port=args.port,
        rules_file=args.rules,
        rule_time_scale=args.rule_time_scale,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        insecure_dev=True if args.insecure_dev else None,
        log_level=args.log_level,
    )
    scheme = "https" if settings.ssl_certfile else "http"
    print(
        f"edgewatch server: {scheme}://{settings.host}:{settings.port}  "
        + (
            f"db={settings.db_path}"
            if settings.store == "duckdb"
            else f"lake={settings.data_path} catalog={settings.catalog}"
        ),
        file=sys.stderr,
        flush=True,
    )
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    """``streamlit run`` the dashboard app in a child process pointed at ``--server``."""
    server = str(args.server).strip().rstrip("/")
    if not server.startswith(("http://", "https://")):
        print(
            f"edgewatch dashboard: --server {args.server!r} must be an http:// or https:// URL",
            file=sys.stderr,
        )
        return 2
    if not args.token or not str(args.token).strip():
        print(
            "edgewatch dashboard: an admin token is needed: pass --token or set "
            f"{DASHBOARD_TOKEN_ENV} (create one with `edgewatch token create --admin`)",
            file=sys.stderr,
        )
        return 2
    if not 0 < args.port < 65536:
        print(f"edgewatch dashboard: --port {args.port} is not a TCP port", file=sys.stderr)
        return 2
    spec = importlib.util.find_spec("edgewatch.dashboard")
    if spec is None or spec.origin is None or importlib.util.find_spec("streamlit") is None:
        print(
            "edgewatch dashboard: the dashboard is not installed: pip install 'edgewatch[dashboard]'",
            file=sys.stderr,
        )
        return 2
    app = Path(spec.origin).parent / "app.py"
    env = {
        **os.environ,
        DASHBOARD_SERVER_ENV: server,
        DASHBOARD_TOKEN_ENV: str(args.token).strip(),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    print(
        f"edgewatch dashboard: http://{args.host}:{args.port}  reading {server}",
        file=sys.stderr,
        flush=True,
    )
    # Become streamlit (same pid): signals from a supervisor such as `edgewatch up` reach it
    # directly and no orphan is left behind.
    os.execve(sys.executable, command, env)


def _token(args: argparse.Namespace) -> int:
    from edgewatch.server.store import NotFoundError, Store, StoreError

    settings = load_settings(args.config, db_path=args.db)
    try:
        if settings.store == "ducklake":  # replicas may run: the lake is shared
            from edgewatch.server.lake import LakeConfig, LakeStore

            assert settings.catalog is not None and settings.data_path is not None
            store: Store = LakeStore.open_lake(
                LakeConfig(settings.catalog, settings.data_path),
                settings.store_config(maintenance=False),
                scheduler=False,
            )
        else:
            store = Store.open(settings.db_path, settings.store_config(maintenance=False))
    except StoreError as e:
        print(
            f"edgewatch token: {e}\nWhile the server runs, use the admin API "
            "(POST/DELETE /api/v1/tokens) instead.",
            file=sys.stderr,
        )
        return 1
    with store:
        if args.token_command == "create":
            role, device = ("admin", None) if args.admin else ("device", args.device)
            new = store.create_token(role=role, device_id=device, name=args.name)
            print(new.token)
            scope = "admin" if device is None else f"device {device}"
            print(
                f"created {scope} token {new.info.token_id}; it is shown only once",
                file=sys.stderr,
            )
        elif args.token_command == "revoke":
            try:
                info = store.revoke_token(args.token_id)
            except NotFoundError as e:
                print(f"edgewatch token revoke: {e}", file=sys.stderr)
                return 1
            print(f"revoked token {info.token_id} ({info.role} {info.device_id or ''})".rstrip())
        else:
            for t in store.list_tokens():
                state = "revoked" if t.revoked_at is not None else "active"
                print(f"{t.token_id}\t{t.role}\t{t.device_id or '-'}\t{state}\t{t.name}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from edgewatch.server._up import UpOptions, run_up

    return run_up(
        UpOptions(
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            dashboard_port=args.dashboard_port,
            devices=args.devices,
            speed=args.speed,
            demo=not args.no_demo,
            dashboard=not args.no_dashboard,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edgewatch`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        # Become the demo (same pid), so signals reach its clean-stop handler directly.
        os.execv(sys.executable, [sys.executable, "-m", "edgewatch.demo", *argv[1:]])
    if argv[:1] == ["profile"]:
        # The profile lives with the collector (what a device installs): run it as its own
        # process so the server package never imports it.
        os.execv(sys.executable, [sys.executable, "-m", "edgewatch.collector.profile", *argv[1:]])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "server":
            return _serve(args)
        if args.command == "token":
            return _token(args)
        if args.command == "dashboard":
            return _dashboard(args)
        if args.command in REMOTE_COMMANDS:
            return run_remote(args)
        if args.command == "rollout":
            return _rollout_cli.run_rollout(args)
        if args.command in ("sampling", "report"):
            return cli_evidence.run(args)
        if args.command == "rules":
            return cli_rules.run(args)
        if args.command == "lake":
            return cli_lake.run(args)
    except SettingsError as e:
        print(f"edgewatch {args.command}: {e}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
