"""Helpers shared by the command-line tests: invoke the app, check one-line errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from credibility import cli

runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(cli.app, [str(a) for a in args])


def assert_one_line_error(result: Result, *words: str) -> None:
    """Exit code 2, one `error:` line on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]
