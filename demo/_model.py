"""The demo's real model: small digit classifiers trained on scikit-learn's bundled 8×8 digits,
converted to ONNX and run with onnxruntime, so every simulated device measures real latency.

One digit (``WITHHELD_DIGIT``) is kept out of training: it is the "class never seen in
training" that the ``unseen_class`` incident feeds to a device.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

FEATURE_NAMES: tuple[str, ...] = tuple(f"px{i:02d}" for i in range(64))
"""The 64 pixel intensities (0..16) of an 8×8 digit image, row by row."""
WITHHELD_DIGIT = 9
"""Never used in training; the ``unseen_class`` incident feeds images of it."""
CLASSES: tuple[int, ...] = tuple(d for d in range(10) if d != WITHHELD_DIGIT)
PIXEL_MAX = 16.0
"""The digits dataset's pixel intensities run from 0 to 16."""
MODEL_NAME = "digits"
V1, V2, V2_BAD = "v1", "v2", "v2.1"
"""Model versions: v1 (a logistic regression trained on half of the training split, as it
stood when v1 shipped), v2 (the same model retrained on all of it: more accurate, same cost
per inference), v2.1 (v2's recipe trained on corrupted labels: the bad rollout)."""
V1_TRAIN_SHARE = 0.5
"""Share of the training split v1 learnt from. v2 differs from v1 only in its data, so it
costs the same per inference and the rollout gate can judge it on its merits: on the held-out
split v2 is 98.2 % accurate against v1's 96.9 %, and more confident (0.961 against 0.950). A
neural network as v2 was as accurate but 1.3-1.4x v1's CPU time per inference, which the
gate's 5 % latency fail margin rightly counts as a regression."""
BAD_LABEL_FRACTION = 0.4
"""Share of training labels replaced by a random class for the bad rollout's model."""
_INPUT_NAME = "pixels"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class DigitsData:
    """The digits dataset split for the demo: training split, held-out test split, withheld digit."""

    train_x: FloatArray
    train_y: npt.NDArray[np.int64]
    test_x: FloatArray
    test_y: npt.NDArray[np.int64]
    unseen_x: FloatArray
    """Every image of ``WITHHELD_DIGIT``: no model saw one in training."""


def load_data(seed: int = 7, test_fraction: float = 0.3) -> DigitsData:
    """Split the bundled digits (no download) into train/test without the withheld digit."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    y = y.astype(np.int64)
    seen = y != WITHHELD_DIGIT
    train_x, test_x, train_y, test_y = train_test_split(
        x[seen], y[seen], test_size=test_fraction, random_state=seed, stratify=y[seen]
    )
    return DigitsData(train_x, train_y, test_x, test_y, x[~seen])


class OnnxClassifier:
    """An ONNX digit classifier run by onnxruntime on one CPU thread (safe to share across threads)."""

    def __init__(self, version: str, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.version = version
        self.path = path
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def predict(self, x: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Predicted class and its probability (the confidence) for each row of ``x`` (n × 64)."""
        batch = np.asarray(x, dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
        labels, probabilities = self._session.run(None, {_INPUT_NAME: batch})
        return np.asarray(labels, dtype=np.int64), np.asarray(probabilities).max(axis=1)

    def predict_proba(self, x: npt.ArrayLike) -> FloatArray:
        """Class probabilities for each row of ``x``, columns in ``CLASSES`` order."""
        batch = np.asarray(x, dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
        return np.asarray(self._session.run(None, {_INPUT_NAME: batch})[1], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ModelSet:
    """The demo's model versions by name, and the data they were trained on."""

    models: Mapping[str, OnnxClassifier]
    data: DigitsData

    def __getitem__(self, version: str) -> OnnxClassifier:
        return self.models[version]


class SklearnClassifier(Protocol):
    """The scikit-learn estimator (or pipeline) behind a model version."""

    def fit(self, x: npt.ArrayLike, y: npt.ArrayLike) -> SklearnClassifier: ...

    def predict(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]: ...

    def predict_proba(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]: ...


def _estimator(version: str, seed: int) -> SklearnClassifier:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Every version is the same model (what differs is its data: ``train_sklearn``); the
    # solver is deterministic, so the seed is not needed.
    del version, seed
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def corrupt_labels(y: npt.NDArray[np.int64], fraction: float, seed: int) -> npt.NDArray[np.int64]:
    """Replace ``fraction`` of the labels by a different, random class (seeded)."""
    rng = np.random.default_rng(seed)
    out = y.copy()
    hit = np.flatnonzero(rng.random(len(y)) < fraction)
    classes = np.asarray(CLASSES)
    for i in hit:
        out[i] = rng.choice(classes[classes != y[i]])
    return out


def train_sklearn(version: str, data: DigitsData, seed: int) -> SklearnClassifier:
    """Fit the scikit-learn estimator behind one model version."""
    from sklearn.exceptions import ConvergenceWarning

    estimator = _estimator(version, seed)
    labels = (
        corrupt_labels(data.train_y, BAD_LABEL_FRACTION, seed)
        if version == V2_BAD
        else data.train_y
    )
    rows = round(len(labels) * _train_share(version))
    with warnings.catch_warnings():
        # On corrupted labels the solver may stop at max_iter; the result is what the bad
        # rollout wants.
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(data.train_x[:rows], labels[:rows])
    return estimator


def _train_share(version: str) -> float:
    return V1_TRAIN_SHARE if version == V1 else 1.0


def to_onnx_bytes(estimator: SklearnClassifier) -> bytes:
    """Convert a fitted classifier (or pipeline) to ONNX returning ``label`` and ``probabilities``."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    model = to_onnx(
        estimator,
        initial_types=[(_INPUT_NAME, FloatTensorType([None, len(FEATURE_NAMES)]))],
        options={type(final): {"zipmap": False}},
    )
    return bytes(model.SerializeToString())


def _cache_key(version: str, seed: int) -> str:
    import onnxruntime
    import skl2onnx
    import sklearn

    recipe = {
        "version": version,
        "seed": seed,
        "sklearn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "withheld": WITHHELD_DIGIT,
        "bad_fraction": BAD_LABEL_FRACTION,
        "train_share": _train_share(version),
        "estimator": repr(_estimator(version, seed)),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def model_path(cache_dir: Path, version: str, seed: int) -> Path:
    """Where the ONNX file of ``version`` trained with ``seed`` is cached."""
    return cache_dir / f"{MODEL_NAME}-{version}-{_cache_key(version, seed)}.onnx"


def load_models(
    cache_dir: str | Path, seed: int = 7, versions: tuple[str, ...] = (V1, V2, V2_BAD)
) -> ModelSet:
    """Train (or load from ``cache_dir``) every model version as ONNX, deterministically for ``seed``."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    data = load_data(seed)
    models: dict[str, OnnxClassifier] = {}
    for version in versions:
        if version not in (V1, V2, V2_BAD):
            raise ValueError(f"unknown model version {version!r}; expected one of v1, v2, v2.1")
        path = model_path(cache, version, seed)
        if not path.exists():
            tmp = path.with_suffix(".onnx.tmp")
            tmp.write_bytes(to_onnx_bytes(train_sklearn(version, data, seed)))
            tmp.replace(path)
        models[version] = OnnxClassifier(version, path)
    return ModelSet(models, data)
