"""``python -m edgewatch.demo.profiles``: profile the demo's models per hardware label and upload
them as each (version, hardware class)'s profile. ``edgewatch up`` runs it after the baselines,
so the server never imports the demo (the import direction of DESIGN.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edgewatch.collector import report_dict
from edgewatch.collector.profile import upload
from edgewatch.demo._model import MODEL_NAME, load_models
from edgewatch.demo._profiles import demo_profiles


def main(argv: Sequence[str] | None = None) -> int:
    """Upload one profile per version and hardware label; print ``model<TAB>version<TAB>label``."""
    parser = argparse.ArgumentParser(prog="python -m edgewatch.demo.profiles", description=__doc__)
    parser.add_argument("--models-dir", type=Path, required=True, help="ONNX model cache")
    parser.add_argument("--server", required=True, help="the edgewatch server's URL")
    parser.add_argument("--token", required=True, help="an admin token of that server")
    parser.add_argument("--seed", type=int, default=7, help="training seed (default 7)")
    args = parser.parse_args(argv)
    models = load_models(args.models_dir, seed=args.seed)
    for version, label, report in demo_profiles(models, seed=args.seed):
        body = {
            "model": MODEL_NAME,
            "version": version,
            "hardware_class": label,
            "report": report_dict(report),
        }
        try:
            upload(args.server, args.token, body)
        except OSError as e:
            print(f"uploading the {version} profile on {label} failed: {e}", file=sys.stderr)
            return 1
        print(f"{MODEL_NAME}\t{version}\t{label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
