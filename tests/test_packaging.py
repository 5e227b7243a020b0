"""The wheel ships models/ and datasets/ inside the package and finds them installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(out)],
        check=True,
    )
    return next(out.glob("credibility-*.whl"))


def test_wheel_contains_specs_and_datasets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "credibility/_bundled/models/default.toml" in names
    for name in ("commitments.csv", "signals.csv", "README.md", "dataset.toml"):
        assert f"credibility/_bundled/datasets/demo/{name}" in names
    # No top-level `models` or `datasets` package that could shadow others.
    assert not any(n.startswith(("models/", "datasets/")) for n in names)


def test_installed_package_finds_bundled_files_without_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    code = (
        "import credibility, credibility.resources as r;"
        f"assert str(credibility.__file__).startswith({str(target)!r}), credibility.__file__;"
        "print(r.models_dir());"
        "print(len(credibility.load_dataset('demo').commitment_ids))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    models_line, count_line = result.stdout.strip().splitlines()[-2:]
    assert models_line.startswith(str(target))
    assert count_line == "41"
