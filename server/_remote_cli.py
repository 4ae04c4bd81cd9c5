"""Admin commands that talk to a running server over its REST API (the server owns the
DuckDB file): ``baseline``, ``silence`` and ``alerts``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_SERVER = "http://127.0.0.1:4318"
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
        parser.add_argument(
            "--server",
            default=os.environ.get("EDGEWATCH_SERVER", DEFAULT_SERVER),
            help=f"server URL (default $EDGEWATCH_SERVER or {DEFAULT_SERVER})",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("EDGEWATCH_TOKEN"),
            help="admin token (default $EDGEWATCH_TOKEN)",
        )
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


class CliError(Exception):
    """A failed request, with the server's explanation."""


def _client(args: argparse.Namespace) -> httpx.Client:
    if not args.token:
        raise CliError("an admin token is needed: pass --token or set EDGEWATCH_TOKEN")
    return httpx.Client(
        base_url=args.server.rstrip("/"),
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=httpx.Timeout(30.0, write=300.0),
    )


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        try:
            body = r.json()
        except ValueError:
            raise CliError(f"HTTP {r.status_code}: {r.text[:500]}") from None
        if "errors" in body:
            lines = []
            for e in body["errors"]:
                if isinstance(e, dict):
                    where = ", ".join(
                        f"{k} {e[k]}" for k in ("column", "row") if e.get(k) is not None
                    )
                    lines.append(f"  - {e['message']}" + (f" ({where})" if where else ""))
                else:
                    lines.append(f"  - {e}")
            raise CliError(f"HTTP {r.status_code}:\n" + "\n".join(lines))
        raise CliError(f"HTTP {r.status_code}: {body.get('detail', body)}")
    return r.json()


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


def _upload(args: argparse.Namespace, client: httpx.Client) -> Any:
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
        r = client.post(
            "/api/v1/baselines",
            params={"model": args.model, "version": args.version},
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    return _check(r)


def _print_baseline(b: dict[str, Any]) -> None:
    print(
        f"{b['id']}\t{b['model']}\t{b['version']}\t{b['source']}\t{b['rows']} rows\t"
        f"{len(b['features'])} features\t{b['created_at']}"
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
            {
                "name": m.name,
                "value": m.value,
                "is_regex": m.op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
                "is_equal": m.op in (MatchOp.EQUAL, MatchOp.REGEX),
            }
        )
    return {
        "matchers": matchers,
        "duration_s": args.duration,
        "created_by": args.author,
        "comment": args.comment,
    }


def _matchers_text(s: dict[str, Any]) -> str:
    ops = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
    return ",".join(
        f'{m["name"]}{ops[(m["is_regex"], m["is_equal"])]}"{m["value"]}"' for m in s["matchers"]
    )


def _run(args: argparse.Namespace, client: httpx.Client) -> Any:
    cmd = args.command
    if cmd == "baseline":
        if args.baseline_command == "upload":
            return _upload(args, client)
        if args.baseline_command == "list":
            params = {"model": args.model} if args.model else {}
            return _check(client.get("/api/v1/baselines", params=params))
        return _check(client.delete(f"/api/v1/baselines/{args.baseline_id}"))
    if cmd == "silence":
        if args.silence_command == "create":
            return _check(client.post("/api/v1/silences", json=_silence_body(args)))
        if args.silence_command == "list":
            return _check(client.get("/api/v1/silences"))
        return _check(client.delete(f"/api/v1/silences/{args.silence_id}"))
    params = {k: getattr(args, k) for k in ("state", "severity", "device") if getattr(args, k)}
    return _check(client.get("/api/v1/alerts", params=params))


def _show(args: argparse.Namespace, answer: Any) -> None:
    if args.json:
        print(json.dumps(answer, indent=2))
        return
    if "baselines" in answer:
        for b in answer["baselines"]:
            _print_baseline(b)
    elif "summary" in answer:
        _print_baseline(answer)
    elif "silences" in answer:
        for s in answer["silences"]:
            print(
                f"{s['id']}\t{s['status']}\t{_matchers_text(s)}\tuntil {s['ends_at']}\t"
                f"{s['created_by']}: {s['comment']}"
            )
    elif "matchers" in answer:
        print(
            f"{answer['id']}\t{answer['status']}\t{_matchers_text(answer)}\tuntil {answer['ends_at']}"
        )
    elif "alerts" in answer:
        for a in answer["alerts"]:
            where = a["labels"].get("device") or a["labels"].get("version", "")
            summary = a["annotations"].get("summary", "")
            print(
                f"{a['state']}\t{a['severity']}\t{a['rule']}\t{where}\t{a['fingerprint']}\t{summary}"
            )
    elif "deleted" in answer:
        print(f"deleted baseline {answer['deleted']}")


def run_remote(args: argparse.Namespace) -> int:
    """Run one remote admin command; 1 with the server's explanation on failure."""
    try:
        with _client(args) as client:
            answer = _run(args, client)
    except CliError as e:
        print(f"edgewatch {args.command}: {e}", file=sys.stderr)
        return 1
    except httpx.HTTPError as e:
        print(f"edgewatch {args.command}: cannot reach {args.server}: {e}", file=sys.stderr)
        return 1
    _show(args, answer)
    return 0
