"""The ``credibility`` command line: a thin Typer + Rich layer over the library.

Commands: ``demo``, ``fit``, ``predict``, ``report``, ``compare``, ``export``, ``update``,
``history``, ``diff``, ``validate sbc|recovery`` and ``datasets list|show|build-real``. Every
command turns a :class:`~credibility.errors.CredibilityError` (or an unreadable or unwritable
file) into one line ``error: <message>`` on stderr and exit code 2, without a traceback.
Convergence problems are not errors: results are written, and shown under a red
"posterior NOT reliable" panel.

The commands live in one module per concern, each registering on :data:`app`:
``common`` (the application, shared options and functions), ``tables`` (what is printed),
``fit`` (``demo``, ``fit``), ``results`` (``export``, ``predict``, ``report``,
``compare``), ``store`` (``update``, ``history``, ``diff``), ``datasets`` and
``validate``.

Examples
--------
>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(app, ["datasets", "list"])
>>> result.exit_code, "demo" in result.stdout
(0, True)
"""

from __future__ import annotations

# Importing a module registers its commands; in this order, --help lists them as before.
from credibility.cli import datasets, fit, results, store, validate  # noqa: F401

# MAX_TREEDEPTH stays a name of the package: tests/test_imports.py checks it against the
# sampler's.
from credibility.cli.common import MAX_TREEDEPTH as MAX_TREEDEPTH
from credibility.cli.common import app

__all__ = ["app"]
