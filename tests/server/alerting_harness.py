"""Helpers for the alerting end-to-end tests: a rules file, a live server with alerting
tuned for seconds-long windows, OTLP batches with an injectable feature shift, polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import yaml
from live_server import free_port, wait_ready
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import (
    collector_body,
    collector_headers,
    exp_metric,
    exp_point,
    kv,
    resource_attributes,
    sum_metric,
)
from server_harness import Tokens, make_tokens, serve_in_thread

from edgewatch.collector import semconv
from edgewatch.detectors import from_values
from edgewatch.server.alerting import AlertingService
from edgewatch.server.settings import load_settings

T = TypeVar("T")
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes, test only
FEATURES = ("f00", "f01", "f02", "f03")


def feature_values(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, Any]:
    """Feature ``fNN`` ~ Normal(NN + shift, 1): the reference and shifted distributions."""
    return {name: rng.normal(i + shift, 1.0, n) for i, name in enumerate(FEATURES)}


def batch(
    device: str,
    *,
    shift: float = 0.0,
    n: int = 400,
    seed: int = 0,
    version: str = "1.0.0",
    end_s: float | None = None,
    interval_s: float = 1.0,
) -> ExportMetricsServiceRequest:
    """One export of ``device`` with its features shifted by ``shift`` standard deviations."""
    rng = np.random.default_rng(seed)
    end_ns = int((time.time() if end_s is None else end_s) * 1e9)
    start_ns = end_ns - int(interval_s * 1e9)
    values = feature_values(rng, n, shift)
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device, model_version=version))
    sm = rm.scope_metrics.add()
    sm.scope.name = "edgewatch.collector"
    sm.metrics.extend(
        [
            exp_metric(
                semconv.FEATURE_VALUE,
                "1",
                [
                    exp_point(from_values(v), start_ns, end_ns, [kv(semconv.FEATURE_NAME, name)])
                    for name, v in values.items()
                ],
            ),
            exp_metric(
                semconv.INFERENCE_DURATION,
                "s",
                [exp_point(from_values(rng.lognormal(np.log(0.02), 0.2, n)), start_ns, end_ns)],
            ),
            sum_metric(
                semconv.INFERENCE_COUNT,
                [(n, [kv(semconv.OUTCOME, semconv.OUTCOME_OK)])],
                start_ns,
                end_ns,
            ),
        ]
    )
    return request


def reference_csv(path: Path, rows: int = 2000, seed: int = 7) -> Path:
    """A baseline CSV matching the unshifted feature distributions."""
    rng = np.random.default_rng(seed)
    values = feature_values(rng, rows)
    lines = [",".join(FEATURES)]
    lines += [",".join(f"{values[f][i]:.6f}" for f in FEATURES) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def drift_rules(
    receivers: list[dict[str, Any]],
    *,
    for_s: int = 2,
    level: str = "version",
    extra_rules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A rules file: PSI feature drift per model version on a 3 s window, evaluated each second."""
    return {
        "route": {
            "receivers": [r["name"] for r in receivers],
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": receivers,
        "rules": [
            {
                "name": "FeatureShift",
                "detector": "psi",
                "params": {"threshold": 0.2, "min_samples": 100},
                "scope": {"level": level},
                "signal": semconv.FEATURE_VALUE,
                "window": "3s",
                "interval": "1s",
                "threshold": "> 0.2",
                "for": f"{for_s}s",
                "severity": "warning",
                "annotations": {
                    "summary": "{{ feature }} drifted on {{ model }} {{ version }}",
                },
            },
            *(extra_rules or []),
        ],
    }


def device_rule(name: str, detector: str, signal: str, when: str, **params: Any) -> dict[str, Any]:
    """A device-scope rule over a 30 m window evaluated every minute."""
    return {
        "name": name,
        "detector": detector,
        "params": params,
        "scope": {"level": "device"},
        "signal": signal,
        "window": "30m",
        "interval": "1m",
        "threshold": when,
    }


def webhook(url: str, name: str = "hook") -> dict[str, Any]:
    """A signed generic-webhook receiver entry."""
    return {"name": name, "type": "webhook", "url": url, "secret": SECRET}


@dataclass
class AlertingServer:
    """A live server with alerting: URL, tokens, and helpers for its API."""

    url: str
    tokens: Tokens
    db: Path
    rules: Path
    app: Any

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.admin}"}

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.url}{path}", params=params, headers=self.headers(), timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", headers=self.headers(), timeout=30, **kwargs)

    def send(self, request: ExportMetricsServiceRequest, device: str | None = "dev-a") -> None:
        """POST one batch as ``device`` (its token), or with no token when ``device`` is None
        (servers started with ``insecure_dev=True``)."""
        if device is None:
            token = None
        else:
            token = self.tokens.device_a if device == "dev-a" else self.tokens.device_b
        r = httpx.post(
            f"{self.url}/v1/metrics",
            content=collector_body(request),
            headers=collector_headers(token),
            timeout=10,
        )
        assert r.status_code == 200, r.text

    def evaluate(self, now_s: float, roll_up: bool = True) -> None:
        """Run every due rule once at ``now_s``, after rolling the stored points up (series over
        minutes read the 1-minute rollups) unless ``roll_up`` is False."""
        if roll_up:
            self.app.state.store.roll_up()
        service: AlertingService = self.app.state.alerting
        service.scheduler.run_once(datetime.fromtimestamp(now_s, UTC))

    def rule_errors(self) -> list[str | None]:
        """Each rule's ``last_error`` (None where its last evaluation succeeded)."""
        return [r["last_error"] for r in self.get("/api/v1/rules")["rules"]]

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.get("/api/v1/alerts", **params)["alerts"]
        return alerts


def write_rules(path: Path, rules: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


@contextmanager
def alerting_server(
    tmp_path: Path, rules: dict[str, Any], **overrides: Any
) -> Iterator[AlertingServer]:
    """uvicorn in a thread with alerting ticking every 0.2 s and retries capped at 1 s."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    rules_path = write_rules(tmp_path / "rules.yaml", rules)
    port = free_port()
    values: dict[str, Any] = {
        "external_url": "http://dashboard.test:8501",
        "scheduler_tick_s": 0.2,
        "delivery_poll_s": 0.1,
        "delivery_initial_backoff_s": 0.2,
        "delivery_max_backoff_s": 1.0,
        **overrides,
    }
    settings = load_settings(db_path=db, port=port, rules_file=rules_path, **values)
    server, thread, app = serve_in_thread(settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield AlertingServer(url, tokens, db, rules_path, app)
    finally:
        server.should_exit = True
        thread.join(30)


def poll(fn: Callable[[], T | None], timeout_s: float = 20.0, every_s: float = 0.1) -> T:
    """Call ``fn`` until it returns something truthy; fail with the last value after a timeout."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s (last: {last!r})")


class Feeder:
    """A device sending one batch every 0.25 s on a thread; ``shift`` may change any time."""

    def __init__(self, server: AlertingServer, device: str = "dev-a", shift: float = 0.0):
        self.server = server
        self.device = device
        self.shift = shift
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-feeder", daemon=True)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self.errors, self.errors

    def _run(self) -> None:
        seed = 0
        while not self._stop.is_set():
            try:
                self.server.send(
                    batch(self.device, shift=self.shift, seed=seed, interval_s=0.25), self.device
                )
            except BaseException as e:  # reported by __exit__ in the test's thread
                self.errors.append(e)
                return
            seed += 1
            self._stop.wait(0.25)


def upload_reference(server: AlertingServer, tmp_path: Path) -> dict[str, Any]:
    """Upload the unshifted reference CSV as the baseline of classifier 1.0.0."""
    csv = reference_csv(tmp_path / "ref.csv")
    r = server.post(
        "/api/v1/baselines",
        params={"model": "classifier", "version": "1.0.0"},
        files={"file": ("ref.csv", csv.read_bytes(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer
