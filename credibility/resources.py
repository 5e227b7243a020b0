"""Where the bundled model specifications and data sets live.

In an installed wheel they are copied inside the package (``credibility/_bundled``);
in a source checkout they are the top-level ``models/`` and ``datasets/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def models_dir() -> Path:
    """Folder holding the bundled ``*.toml`` model specifications.

    Examples
    --------
    >>> (models_dir() / "default.toml").is_file()
    True
    """
    return _bundled("models")


def datasets_dir() -> Path:
    """Folder holding the bundled data sets (one sub-folder each).

    Examples
    --------
    >>> (datasets_dir() / "demo").is_dir()
    True
    """
    return _bundled("datasets")
