"""``edgewatch server`` and ``edgewatch token``, settings files and the insecure mode."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live_server import free_port, server_command, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from server_harness import ROOT

from edgewatch.server.app import INSECURE_BANNER
from edgewatch.server.cli import main
from edgewatch.server.settings import SettingsError, load_settings

pytestmark = pytest.mark.timeout(60)


def test_token_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.duckdb")
    assert main(["token", "create", "--device", "pi-7", "--name", "kitchen", "--db", db]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("ewt_")
    token_id = token.split("_")[1]
    assert main(["token", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert f"{token_id}\tdevice\tpi-7\tactive\tkitchen" in listing
    assert token not in listing
    assert main(["token", "revoke", token_id, "--db", db]) == 0
    assert main(["token", "list", "--db", db]) == 0
    assert f"{token_id}\tdevice\tpi-7\trevoked" in capsys.readouterr().out
    assert main(["token", "revoke", "000000000000", "--db", db]) == 1
    assert "token '000000000000' not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "port must be 1..65535"),
        (["--dashboard-port", "http"], "not a port number"),
    ],
)
def test_up_rejects_bad_ports(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["up", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_settings_from_yaml_env_and_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "edgewatch.yaml"
    config.write_text("port: 9000\nmax_body_bytes: 1024\nretention_raw_s: 3600\n")
    monkeypatch.setenv("EDGEWATCH_MAX_BODY_BYTES", "2048")
    settings = load_settings(config, retention_raw_s=60)
    assert (settings.port, settings.max_body_bytes, settings.retention_raw_s) == (9000, 2048, 60)
    config.write_text("prot: 9000\n")
    with pytest.raises(SettingsError, match=r"unknown settings in .*: prot"):
        load_settings(config)
    config.write_text("- 1\n")
    with pytest.raises(SettingsError, match="must hold a mapping"):
        load_settings(config)
    with pytest.raises(SettingsError, match="ssl_certfile and ssl_keyfile must be given together"):
        load_settings(ssl_certfile=tmp_path / "cert.pem")
    assert main(["server", "--config", str(config)]) == 2


def test_insecure_dev_is_loud_and_token_cli_refuses_a_held_file(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            server_command(db, port, "--insecure-dev"),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc=proc)
        batch = device_batch("anyone", end_ns=time.time_ns(), features=1)
        r = httpx.post(
            f"{url}/v1/metrics", content=collector_body(batch), headers=collector_headers(None)
        )
        assert r.status_code == 200
        held = subprocess.run(
            [sys.executable, "-m", "edgewatch.server.cli", "token", "list", "--db", str(db)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert held.returncode == 1
        assert "use the admin API" in held.stderr
    finally:
        proc.terminate()
        proc.wait(15)
    assert INSECURE_BANNER in log.read_text()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_server_speaks_tls_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    port = free_port()
    proc = subprocess.Popen(
        server_command(
            tmp_path / "x.duckdb", port, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        url = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cafile=str(cert))
        wait_ready(url, proc=proc, verify=trust)
        with httpx.Client(verify=trust) as client:
            assert client.get(f"{url}/healthz").json() == {"status": "ok"}
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://127.0.0.1:{port}/healthz")  # plain HTTP is not served
    finally:
        proc.terminate()
        proc.wait(15)
