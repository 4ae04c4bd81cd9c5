"""Admin commands that talk to a running server over its REST API (the server owns the
DuckDB file): ``baseline``, ``silence`` and ``alerts``."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from edgewatch.contract import (
    ENV_TOKEN,
    AlertList,
    ApiClient,
    ApiError,
    BaselineDeleted,
    BaselineList,
    BaselineOut,
    MatcherIn,
    SilenceIn,
    SilenceList,
    SilenceOut,
    format_rfc3339,
    segment,
)

_CHUNK = 256 * 1024


def add_parsers(sub: Any) -> None:
    """Register ``baseline``, ``silence`` and ``alerts`` on the top-level sub-parsers."""
    baseline = sub.add_parser("baseline", help="upload, list or delete baselines (via the API)")
    b_sub = baseline.add_subparsers(dest="baseline_command", required=True)
    upload = b_sub.add_parser("upload", help="upload a CSV or Parquet reference dataset")
    upload.add_argument("file", type=Path)
    upload.add_argument("--model", required=True)
    upload.add_argument("--version", required=True)
    b_list = b_sub.add_parser("list", help="list baselines")
    b_list.add_argument("--model")
    b_delete = b_sub.add_parser("delete", help="delete a baseline by id")
    b_delete.add_argument("baseline_id")

    silence = sub.add_parser("silence", help="create, list or expire silences (via the API)")
    s_sub = silence.add_subparsers(dest="silence_command", required=True)
    create = s_sub.add_parser("create", help='mute alerts matching e.g. device="cam-1"')
    create.add_argument("matchers", nargs="+", help='label matchers: name="v", name=~"re", ...')
    create.add_argument("--duration", type=float, default=3600.0, help="seconds (default 1 h)")
    create.add_argument("--author", required=True)
    create.add_argument("--comment", required=True)
    s_sub.add_parser("list", help="list silences")
    expire = s_sub.add_parser("expire", help="expire a silence by id")
    expire.add_argument("silence_id")

    alerts = sub.add_parser("alerts", help="list alerts (via the API)")
    a_sub = alerts.add_subparsers(dest="alerts_command", required=True)
    a_list = a_sub.add_parser("list", help="current alerts, newest first")
    a_list.add_argument("--state", choices=["pending", "firing", "resolved"])
    a_list.add_argument("--severity", choices=["critical", "warning", "info"])
    a_list.add_argument("--device")

    for parser in (upload, b_list, b_delete, create, s_sub.choices["list"], expire, a_list):
        add_server_args(parser)
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


class CliError(Exception):
    """A failed request, with the server's explanation."""


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """``--server`` and ``--token``, defaulting to ``$EDGEWATCH_SERVER``/``$EDGEWATCH_TOKEN``
    (read by the contract's client, the one place that knows them)."""
    parser.add_argument("--server", help="server URL (default $EDGEWATCH_SERVER or local)")
    parser.add_argument("--token", help="admin token (default $EDGEWATCH_TOKEN)")


def client_of(args: argparse.Namespace, *, timeout_s: float = 30.0) -> ApiClient:
    """The API client for ``--server``/``--token`` (or their environment variables)."""
    return ApiClient.from_env(args.server, args.token, timeout_s=timeout_s, write_timeout_s=300.0)


def _upload_body(path: Path, boundary: str, advance: Any) -> Iterator[bytes]:
    kind = "application/octet-stream"
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: {kind}\r\n\r\n'
    ).encode()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            advance(len(chunk))
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _upload(args: argparse.Namespace, client: ApiClient) -> BaselineOut:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    boundary = uuid.uuid4().hex
    with Progress(
        TextColumn("uploading {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(path.name, total=path.stat().st_size)
        body = _upload_body(path, boundary, lambda n: progress.advance(task, n))
        return client.call(
            BaselineOut,
            "POST",
            "/api/v1/baselines",
            params={"model": args.model, "version": args.version},
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


def _print_baseline(b: BaselineOut) -> None:
    print(
        f"{b.id}\t{b.model}\t{b.version}\t{b.source}\t{b.rows} rows\t"
        f"{len(b.features)} features\t{format_rfc3339(b.created_at)}"
    )


def _silence_body(args: argparse.Namespace) -> dict[str, Any]:
    from edgewatch.server.alert import MatcherError, MatchOp, parse_matcher

    matchers = []
    for text in args.matchers:
        try:
            m = parse_matcher(text)
        except MatcherError as e:
            raise CliError(str(e)) from None
        matchers.append(
            MatcherIn(
                name=m.name,
                value=m.value,
                is_regex=m.op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
                is_equal=m.op in (MatchOp.EQUAL, MatchOp.REGEX),
            )
        )
    body = SilenceIn(
        matchers=matchers, duration_s=args.duration, created_by=args.author, comment=args.comment
    )
    return body.model_dump(mode="json", exclude_none=True)


def _silence_line(s: SilenceOut) -> str:
    matchers = ",".join(str(m) for m in s.matchers)
    return f"{s.id}\t{s.status}\t{matchers}\tuntil {format_rfc3339(s.ends_at)}"


def _run(args: argparse.Namespace, client: ApiClient) -> BaseModel:
    cmd = args.command
    if cmd == "baseline":
        if args.baseline_command == "upload":
            return _upload(args, client)
        if args.baseline_command == "list":
            return client.get(BaselineList, "/api/v1/baselines", {"model": args.model})
        path = f"/api/v1/baselines/{segment(args.baseline_id)}"
        return client.call(BaselineDeleted, "DELETE", path)
    if cmd == "silence":
        if args.silence_command == "create":
            return client.call(SilenceOut, "POST", "/api/v1/silences", json=_silence_body(args))
        if args.silence_command == "list":
            return client.get(SilenceList, "/api/v1/silences")
        return client.call(SilenceOut, "DELETE", f"/api/v1/silences/{segment(args.silence_id)}")
    params = {k: getattr(args, k) for k in ("state", "severity", "device")}
    return client.get(AlertList, "/api/v1/alerts", params)


def _show(args: argparse.Namespace, answer: BaseModel) -> None:
    if args.json:
        print(answer.model_dump_json(indent=2, by_alias=True))
    elif isinstance(answer, BaselineList):
        for b in answer.baselines:
            _print_baseline(b)
    elif isinstance(answer, BaselineOut):
        _print_baseline(answer)
    elif isinstance(answer, SilenceList):
        for s in answer.silences:
            print(f"{_silence_line(s)}\t{s.created_by}: {s.comment}")
    elif isinstance(answer, SilenceOut):
        print(_silence_line(answer))
    elif isinstance(answer, AlertList):
        for a in answer.alerts:
            where = a.labels.get("device") or a.labels.get("version", "")
            summary = a.annotations.get("summary", "")
            print(f"{a.state}\t{a.severity}\t{a.rule}\t{where}\t{a.fingerprint}\t{summary}")
    elif isinstance(answer, BaselineDeleted):
        print(f"deleted baseline {answer.deleted}")


def run_remote(args: argparse.Namespace) -> int:
    """Run one remote admin command; 1 with the server's explanation on failure."""
    try:
        if not args.token and not os.environ.get(ENV_TOKEN):
            raise CliError(f"an admin token is needed: pass --token or set {ENV_TOKEN}")
        with client_of(args) as client:
            answer = _run(args, client)
    except (CliError, ApiError, ValueError) as e:
        print(f"edgewatch {args.command}: {e}", file=sys.stderr)
        return 1
    _show(args, answer)
    return 0
