"""docs/quickstart.md stays true: its options are the CLI's, its scenario example loads, its
error example is what the loader says, and its Python snippet runs."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest
import yaml

from edgewatch.demo import V1, ModelSet, ScenarioError, build_parser, parse_scenario

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", QUICKSTART.read_text(), re.S)


def documented_options(heading: str) -> set[str]:
    """Options named in the tables of one section (up to the next heading of any level)."""
    text = QUICKSTART.read_text()
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"`(--[a-z-]+)", "\n".join(re.findall(r"^\|.*$", section, re.M))))


def parser_options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def test_the_demo_options_table_lists_exactly_the_cli_options() -> None:
    assert documented_options("### Options") == parser_options(build_parser())


def test_the_up_options_table_lists_exactly_the_cli_options() -> None:
    from edgewatch.server.cli import build_parser as edgewatch_parser

    subcommands = next(
        a for a in edgewatch_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    up = subcommands.choices["up"]
    assert documented_options("## What `edgewatch up` does") == parser_options(up)


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
