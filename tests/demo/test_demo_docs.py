"""docs/quickstart.md stays true: its options are the CLI's, its scenario example loads, its
error example is what the loader says, and its Python snippet runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from edgewatch.demo import V1, ModelSet, ScenarioError, build_parser, parse_scenario

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", QUICKSTART.read_text(), re.S)


def test_the_options_table_lists_exactly_the_cli_options() -> None:
    documented = set(re.findall(r"^\| `(--[a-z-]+)", QUICKSTART.read_text(), re.M))
    actual = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert documented == actual


def test_the_scenario_example_loads_and_its_error_example_is_exact() -> None:
    (example,) = [b for b in blocks("yaml") if "incidents:" in b]
    data = yaml.safe_load(example)
    scenario = parse_scenario(data, "night-shift.yaml")
    assert scenario.duration_s == 3 * 3600 and len(scenario.devices()) == 8
    (quoted,) = re.findall(r"`(night-shift\.yaml: [^`]+)`", QUICKSTART.read_text())
    data["incidents"][0]["blur_sigma"] = 9
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "night-shift.yaml")
    assert str(caught.value) == quoted


def test_the_baseline_snippet_runs(
    models: ModelSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "edgewatch-data" / "demo" / "models"
    shutil.copytree(models[V1].path.parent, cache)
    monkeypatch.chdir(tmp_path)
    (snippet,) = [b for b in blocks("python") if "write_baselines" in b]
    exec(compile(snippet, str(QUICKSTART), "exec"), {})
    written = sorted(p.name for p in (tmp_path / "edgewatch-data" / "baselines").iterdir())
    assert written == ["baseline-digits-v1.csv", "baseline-digits-v2.csv"]
