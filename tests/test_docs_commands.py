"""Every ``edgewatch ...`` and ``python -m edgewatch.demo ...`` command shown in docs/ is one
the real argument parsers accept, so a renamed or removed option cannot linger in the docs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from edgewatch.collector.profile import build_parser as profile_parser
from edgewatch.demo import build_parser as demo_parser
from edgewatch.server.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
COMMAND = re.compile(r"^(?:\$ )?(?:[A-Z_]+=\S+\s+)*(edgewatch|python -m edgewatch\.demo)\s+(.*)$")


def _shell_blocks(text: str) -> list[str]:
    """The contents of fenced blocks tagged as shell, or not tagged at all."""
    blocks, current, language = [], list[str](), None
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, current = line[3:].strip(), []
            else:
                if language in SHELL_LANGUAGES:
                    blocks.append("\n".join(current))
                language = None
        elif language is not None:
            current.append(line)
    return blocks


def _commands() -> list[tuple[str, str, str]]:
    found = []
    for doc in sorted(DOCS.rglob("*.md")):
        for block in _shell_blocks(doc.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                match = COMMAND.match(line.strip())
                if match:
                    found.append((doc.name, match.group(1), match.group(2)))
    return found


def _words(text: str) -> list[str]:
    text = text.split("  #", 1)[0]
    text = re.sub(r"\[[^\]]*\]", "", text)  # [--optional things] in usage lines
    text = re.sub(r"<[^>]*>", "PLACEHOLDER", text)  # <admin token>
    return shlex.split(text)


def test_the_docs_show_commands() -> None:
    assert len(_commands()) >= 10


@pytest.mark.parametrize(("doc", "program", "arguments"), _commands())
def test_documented_command_parses(doc: str, program: str, arguments: str) -> None:
    parser = build_parser() if program == "edgewatch" else demo_parser()
    words = _words(arguments)
    if words[:1] == ["demo"]:
        parser, words = demo_parser(), words[1:]
    elif words[:1] == ["profile"]:
        parser, words = profile_parser(), words[1:]
    parser.parse_args(words)
