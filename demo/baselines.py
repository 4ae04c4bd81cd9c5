"""``python -m edgewatch.demo.baselines --out DIR``: train the demo models and write their reference files.

``edgewatch up`` runs this before it uploads the files as baselines, so the server never imports
the demo (the import direction of DESIGN.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edgewatch.demo._baseline import write_baselines
from edgewatch.demo._model import MODEL_NAME, load_models


def main(argv: Sequence[str] | None = None) -> int:
    """Write one CSV per model version and print ``model<TAB>version<TAB>path`` lines."""
    parser = argparse.ArgumentParser(
        prog="python -m edgewatch.demo.baselines",
        description="Train the demo's digits models and write their baseline (reference) files.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the baseline files")
    parser.add_argument("--models-dir", type=Path, help="ONNX model cache (default OUT/models)")
    parser.add_argument("--seed", type=int, default=7, help="training seed (default 7)")
    args = parser.parse_args(argv)
    try:
        models = load_models(args.models_dir or args.out / "models", seed=args.seed)
        written = write_baselines(models, args.out)
    except OSError as e:
        parser.error(f"--out {args.out}: cannot write there: {e}")
    for version, path in written.items():
        print(f"{MODEL_NAME}\t{version}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
