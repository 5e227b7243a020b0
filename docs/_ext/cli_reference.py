"""The ``credibility-cli`` directive: the command line's reference from its own ``--help``.

Every command and subcommand of :data:`credibility.cli.app` is run with ``--help``
(Typer's ``CliRunner``, 88 columns, no colour) and its output is placed in a section of
its own, so that the reference cannot drift from the commands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WIDTH = 88


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``command``, itself first, in the order they were added.

    Typer builds on its own copy of click, so a group is recognised by its ``commands``.
    """
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            paths.extend(_commands(sub, (*path, name)))
    return paths


def _help(path: tuple[str, ...]) -> str:
    """``credibility PATH --help`` as plain text."""
    from typer.testing import CliRunner

    from credibility.cli import app

    env = {"COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1",
           "TERM": "dumb", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    result = CliRunner().invoke(app, [*path, "--help"], env=env, prog_name="credibility")
    if result.exit_code != 0:
        raise RuntimeError(f"credibility {' '.join(path)} --help exited {result.exit_code}: "
                           f"{result.output}")
    # Rich pads every line to the full width.
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")


class CliReference(SphinxDirective):
    """Sections with the ``--help`` of every command of the ``credibility`` command line."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import typer

        import credibility.cli

        os.environ.setdefault("TERMINAL_WIDTH", str(WIDTH))
        # The page is rebuilt when the commands (any module of the package) or this
        # directive change.
        for module in sorted(Path(credibility.cli.__file__).parent.glob("*.py")):
            self.env.note_dependency(str(module))
        self.env.note_dependency(__file__)
        sections: list[nodes.Node] = []
        for path in _commands(typer.main.get_command(credibility.cli.app)):
            title = " ".join(("credibility", *path))
            section = nodes.section(ids=[nodes.make_id("cli " + title)], names=[title])
            section += nodes.title(title, "", nodes.literal(title, title))
            text = _help(path)
            block = nodes.literal_block(text, text, language="text")
            section += block
            self.state.document.note_implicit_target(section)
            sections.append(section)
        return sections


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("credibility-cli", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
