"""``edgewatch profile MODEL.onnx --inputs SAMPLE`` (also ``python -m edgewatch.collector.profile``).

Profiles an ONNX model on this device: latency distribution, load time and memory, CPU,
throughput, energy per inference with its source and error bound, temperature and throttling
during an optional soak, the prediction mix and accuracy on the sample. Prints a table, writes
a JSON report, and with ``--upload`` stores the profile on the server as the baseline of that
model version on this hardware class. Exit codes: 0 done, 1 upload failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from edgewatch.collector._profile import ProfileError, ProfileOptions, profile_model
from edgewatch.collector._profile_report import report_dict
from edgewatch.collector._profile_sample import DEFAULT_LABEL_COLUMN, load_sample
from edgewatch.collector._profile_view import print_report, progress_display

PROFILES_PATH = "/api/v1/profiles"
UPLOAD_TIMEOUT_S = 30.0
_UNITS_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration_s(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1.5h`` → seconds; ``ValueError`` otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 5m, 1h)")
    return float(m.group(1)) * _UNITS_S[m.group(2)]


def _duration(text: str) -> float:
    try:
        return parse_duration_s(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser(prog: str = "edgewatch profile") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[1])
    p.add_argument("model", type=Path, help="the ONNX model file")
    p.add_argument("--inputs", type=Path, required=True, help="sample: .npy, .npz, .csv, .parquet")
    p.add_argument(
        "--label-column", default=DEFAULT_LABEL_COLUMN, help="label column (csv/parquet)"
    )
    p.add_argument("--runs", type=int, default=200, help="measured runs (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="warm-up runs, not measured (default 20)")
    p.add_argument(
        "--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)"
    )
    p.add_argument("--batch", type=int, default=1, help="rows per run (default 1)")
    p.add_argument("--soak", type=_duration, default=0.0, help="keep running this long (e.g. 5m)")
    p.add_argument("--hardware", help="hardware class label (default: the device-tree/DMI model)")
    p.add_argument("--root", type=Path, default=Path("/"), help="filesystem root holding sys/")
    p.add_argument("--json", type=Path, help="write the JSON report here (default: stdout with -q)")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no table or progress; JSON on stdout"
    )
    up = p.add_argument_group("upload the profile as the baseline of this hardware class")
    up.add_argument("--upload", action="store_true", help="POST the profile to the server")
    up.add_argument("--server", help="the edgewatch server's URL")
    up.add_argument("--token", help="an admin token of that server")
    up.add_argument("--model", dest="model_name", help="model name on the server")
    up.add_argument("--version", dest="model_version", help="model version on the server")
    return p


def upload(
    server: str, token: str, body: Mapping[str, Any], timeout_s: float = UPLOAD_TIMEOUT_S
) -> dict[str, Any]:
    """POST the profile; the server's JSON answer, or ``OSError`` saying what went wrong."""
    request = urllib.request.Request(
        server.rstrip("/") + PROFILES_PATH,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as e:
        raise OSError(f"server answered {e.code}: {e.read()[:500].decode(errors='replace')}") from e


def main(argv: Sequence[str] | None = None, prog: str = "edgewatch profile") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.upload and not all((args.server, args.token, args.model_name, args.model_version)):
        parser.error("--upload needs --server, --token, --model and --version")
    try:
        options = ProfileOptions(
            model_path=args.model,
            runs=args.runs,
            warmup=args.warmup,
            threads=args.threads,
            batch_size=args.batch,
            soak_s=args.soak,
            root=args.root,
            hardware_class=args.hardware,
        )
        sample = load_sample(args.inputs, args.label_column)
        with progress_display(enabled=not args.quiet and sys.stderr.isatty()) as progress:
            report = profile_model(options, sample, progress)
    except (ValueError, ProfileError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    data = report_dict(report)
    text = json.dumps(data, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    if args.quiet:
        if not args.json:
            print(text)
    else:
        print_report(report)
        if args.json:
            print(f"JSON report: {args.json}")
    if args.upload:
        body = {
            "model": args.model_name,
            "version": args.model_version,
            "hardware_class": report.hardware["class"],
            "report": data,
        }
        try:
            upload(args.server, args.token, body)
        except (OSError, ValueError) as e:
            print(f"{prog}: upload failed: {e}", file=sys.stderr)
            return 1
        print(
            f"uploaded: {args.model_name} {args.model_version} on {report.hardware['class']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
