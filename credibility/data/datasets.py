"""Bundled data sets: list them, describe them, load them as :class:`CredibilityData`.

Each data set is a folder under ``datasets/`` with ``commitments.csv``,
``signals.csv``, optionally ``cases.csv``, a ``dataset.toml`` (title, whether it is
synthetic, which model spec it goes with) and a ``README.md`` codebook.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, load_spec
from credibility.errors import CredibilityError
from credibility.resources import datasets_dir


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one bundled data set (from its ``dataset.toml``)."""

    name: str
    title: str
    description: str
    synthetic: bool
    spec: str
    path: Path

    @property
    def codebook(self) -> str:
        """The data set's README (codebook) text."""
        readme = self.path / "README.md"
        return readme.read_text(encoding="utf-8") if readme.exists() else ""


def list_datasets() -> list[DatasetInfo]:
    """All bundled data sets, by name.

    Examples
    --------
    >>> [d.name for d in list_datasets()]
    ['demo']
    """
    root = datasets_dir()
    return [dataset_info(p.name) for p in sorted(root.iterdir()) if (p / "dataset.toml").is_file()]


def dataset_info(name: str) -> DatasetInfo:
    """Metadata of the bundled data set ``name``.

    Examples
    --------
    >>> dataset_info("demo").synthetic
    True
    """
    path = datasets_dir() / name
    meta_file = path / "dataset.toml"
    if not meta_file.is_file():
        available = ", ".join(p.name for p in sorted(datasets_dir().iterdir())
                              if (p / "dataset.toml").is_file())
        raise CredibilityError(f"no bundled data set named {name!r} (available: {available})")
    meta = tomllib.loads(meta_file.read_text(encoding="utf-8"))
    return DatasetInfo(
        name=name,
        title=meta.get("title", name),
        description=meta.get("description", ""),
        synthetic=bool(meta.get("synthetic", False)),
        spec=meta.get("spec", "default"),
        path=path,
    )


def load_dataset(name: str = "demo", spec: ModelSpec | str | None = None) -> CredibilityData:
    """Load a bundled data set, validated against ``spec`` (default: the data set's own).

    Examples
    --------
    >>> data = load_dataset("demo")
    >>> int(data.first_period), int(data.last_period)
    (2000, 2026)
    """
    info = dataset_info(name)
    spec_obj = spec if isinstance(spec, ModelSpec) else load_spec(spec or info.spec)
    cases = info.path / "cases.csv"
    return CredibilityData.from_csv(
        info.path / "commitments.csv",
        info.path / "signals.csv",
        cases if cases.exists() else None,
        spec=spec_obj,
    )
