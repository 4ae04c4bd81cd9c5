"""The built-in performance rules on real collector data: AccuracyDrop fires on labels that
prove a drop, EstimatedAccuracyDrop on low calibrated scores, LabelCoverageLow judges the
labelled share, and each is insufficient data without enough labels, scores or a calibration."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from server_harness import LiveServer

from edgewatch.collector import Monitor
from edgewatch.detectors import Verdict
from edgewatch.server.alert import Rule, load_default_rules
from edgewatch.server.alert._config import ScopeLevel
from edgewatch.server.detect import EVALUATORS
from edgewatch.server.detect._context import Context, Window
from edgewatch.server.detect._members import members
from edgewatch.server.performance import MAX_DRIFT_SHARE
from edgewatch.server.store import EvaluationRow

CLASSES = ["a", "b"]


def _rule(name: str, **params: object) -> Rule:
    rule = next(r for r in load_default_rules().rules if r.name == name)
    return dataclasses.replace(rule, params={**rule.params, **params})


def _verdict(server: LiveServer, rule: Rule, window: Window) -> tuple[Verdict, float]:
    devices = server.store.list_devices()
    ctx = Context(server.store, window.end_s, devices)
    (member,) = members(ScopeLevel.VERSION, devices)
    (finding,) = EVALUATORS[rule.detector](ctx, rule, member, window)
    return finding.result.verdict, finding.result.score


def _upload_reference(server: LiveServer) -> None:
    rng = np.random.default_rng(2)
    n = 2000
    score = rng.uniform(0.5, 1.0, n)
    truth = rng.choice(CLASSES, n)
    right = rng.uniform(size=n) < score
    frame = pd.DataFrame(
        {
            "f0": rng.normal(size=n),
            "prediction": np.where(right, truth, np.where(truth == "a", "b", "a")),
            "score": score,
            "label": truth,
        }
    )
    r = server.upload_baseline("clf", "2.0", frame)
    assert r.status_code == 201, r.text


def test_performance_rules_judge_labels_scores_and_coverage(
    tmp_path: Path, live_server: LiveServer
) -> None:
    m = Monitor(
        "clf",
        "2.0",
        endpoint=live_server.url,
        token=live_server.tokens.device_a,
        device_id="dev-a",
        spool_dir=tmp_path / "spool",
        features=["f0"],
        classes=CLASSES,
        samplers=[],
        start=False,
    )
    t0 = time.time() - 1
    rng = np.random.default_rng(4)
    for k in range(600):
        # f0 follows the reference's distribution: the scheduler's drift rules, run below,
        # must find no input drift (that would make the estimate unreliable, which the end
        # of the test sets up on purpose).
        with m.observe([float(rng.normal())]) as obs:
            obs.prediction("a", score=float(rng.uniform(0.5, 0.6)))
        if k % 3 == 0:
            m.label(obs.id, "a" if k % 2 else "b")  # half right
    assert m.flush()
    m.close()
    window = Window(t0, time.time() + 1)

    accuracy = _rule("AccuracyDrop")
    estimated = _rule("EstimatedAccuracyDrop", min_inferences=100)
    coverage = _rule("LabelCoverageLow", min_inferences=100)
    assert _verdict(live_server, accuracy, window)[0] is Verdict.INSUFFICIENT_DATA  # no reference
    assert _verdict(live_server, estimated, window)[0] is Verdict.INSUFFICIENT_DATA
    _upload_reference(live_server)
    # The test server's scheduler evaluates only when a test runs it: run it once, so its
    # drift rules have judged this data (f0 follows the reference: no drift) before the
    # verdicts below, as the running server's scheduler would have.
    live_server.app.state.alerting.scheduler.run_once(datetime.now(UTC))

    verdict, score = _verdict(live_server, accuracy, window)
    assert verdict is Verdict.DRIFT and score > 0.1
    verdict, score = _verdict(live_server, estimated, window)
    assert verdict is Verdict.DRIFT and score > 0.1
    verdict, score = _verdict(live_server, coverage, window)
    assert verdict is Verdict.NO_DRIFT and abs(score - 200 / 600) < 1e-9
    few = _rule("AccuracyDrop", min_labels=1000)
    assert _verdict(live_server, few, window)[0] is Verdict.INSUFFICIENT_DATA
    given = _rule("EstimatedAccuracyDrop", min_inferences=100, reference_accuracy=0.56)
    assert _verdict(live_server, given, window)[0] is Verdict.NO_DRIFT
    drifted = [
        EvaluationRow(
            rule="FeatureDrift",
            detector="psi",
            window_start=datetime.fromtimestamp(window.start_s, UTC),
            window_end=datetime.fromtimestamp(window.end_s - 0.5, UTC),
            scope="version",
            device_id=None,
            fleet=None,
            model_name="clf",
            model_version="2.0",
            feature="f0",
            method="psi",
            score=0.9,
            threshold=0.2,
            verdict="drift",
            explanation="f0 drifted",
        )
    ]
    live_server.store.evaluations.append(drifted)
    assert _verdict(live_server, estimated, window)[0] is Verdict.INSUFFICIENT_DATA
    shown = httpx.get(
        f"{live_server.url}/api/v1/performance",
        params={"model_name": "clf", "start": window.start_s, "end": window.end_s},
        headers=live_server.admin(),
        timeout=30,
    ).json()
    assert shown["total"]["estimated"]["reliable"] is False
    assert shown["drift_share"] > MAX_DRIFT_SHARE  # beside the scheduler's no-drift verdicts
