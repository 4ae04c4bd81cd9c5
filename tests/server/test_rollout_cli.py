"""``edgewatch rollout`` without a server to answer: a timeout (2), and a missing token (3)."""

from __future__ import annotations

import pytest
from live_server import free_port

from edgewatch.server.cli import main


def test_no_server_is_a_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["rollout", "wait", "--model", "m", "--version", "v", "--server", url, "--token", "t"]
    assert main([*argv, "--timeout", "1s", "--interval", "0.2s"]) == 2
    assert "timed out before a final verdict" in capsys.readouterr().err


def test_a_token_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEWATCH_TOKEN", raising=False)
    assert main(["rollout", "status", "--model", "m", "--version", "v"]) == 3
    with pytest.raises(SystemExit):
        main(["rollout", "wait", "--model", "m", "--version", "v", "--timeout", "soon"])
