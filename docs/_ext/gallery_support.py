"""How the gallery runs the scripts of ``examples/`` while the site is built.

sphinx-gallery executes each script in the Sphinx process with ``__name__ ==
"__main__"`` and ``sys.argv`` from :func:`example_argv`: every script runs at a quick
size (its diagnostics say the posterior is too short to rely on, and the page shows
that output), writing its figures to a folder of its own under ``docs/_build``. The
scripts save their figures with ``Figure.savefig`` (no pyplot), so
:func:`scrape_outputs` collects the PNG files each script wrote there.

Two modes, chosen by the environment variable ``CREDIBILITY_DOCS_GALLERY``:

``full`` (the default; ``make docs``)
    Every example is executed. The real-data example runs only where the staged
    public sources exist (``CREDIBILITY_SOURCE_DATA``, else ``../shared/data`` beside
    the repository); without them it is left out of the gallery.
``ci`` (``make docs-ci``, what ``.ci/run`` builds)
    Only :data:`CI_EXAMPLES` are executed, at a smaller size still; the other pages
    show their code without output. The site itself, warnings as errors, is the same.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Where the executed examples write their files (under the build folder, not committed).
OUTPUT = ROOT / "docs" / "_build" / "gallery-output"
#: The example that needs the staged public data sets.
REAL_DATA_EXAMPLE = "us_extended_deterrence.py"
#: The examples executed in ``ci`` mode: the quickest (one small fit, about 20 s warm).
CI_EXAMPLES = ("dimension_figures.py",)


def mode() -> str:
    """The gallery mode, ``"full"`` or ``"ci"`` (``CREDIBILITY_DOCS_GALLERY``)."""
    value = os.environ.get("CREDIBILITY_DOCS_GALLERY", "full")
    if value not in ("full", "ci"):
        raise ValueError(f"CREDIBILITY_DOCS_GALLERY={value!r}: expected 'full' or 'ci'")
    return value


def source_data() -> Path:
    """The folder of staged public sources the real-data example reads."""
    return Path(os.environ.get("CREDIBILITY_SOURCE_DATA") or ROOT.parent / "shared" / "data")


def filename_pattern() -> str:
    """sphinx-gallery's ``filename_pattern``: which examples are executed."""
    if mode() == "ci":
        return "/(" + "|".join(re.escape(name) for name in CI_EXAMPLES) + ")$"
    return r"/[^/]+\.py$"


def ignore_pattern() -> str:
    """sphinx-gallery's ``ignore_pattern``: the real-data example when its data are absent."""
    if source_data().is_dir():
        return r"__init__\.py"
    return r"__init__\.py|" + re.escape(REAL_DATA_EXAMPLE)


def example_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """Command-line arguments for one example (sphinx-gallery's ``reset_argv``)."""
    name = Path(script_vars["src_file"]).name
    out = OUTPUT / Path(name).stem
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    ci = mode() == "ci"
    if name == "demo_analysis.py":
        return ["--draws", "200", "--tune", "200", "--out", str(out)]
    if name == "dimension_figures.py":
        size = "30" if ci else "100"
        return ["--draws", size, "--tune", size, "--out", str(out)]
    if name == "sequential_update.py":
        return ["--quick", "--out", str(out / "sequential_update.png")]
    if name == REAL_DATA_EXAMPLE:
        return ["--data-dir", str(source_data()), "--spec", str(ROOT / "models" / "us_real.toml"),
                "--draws", "100", "--tune", "100",
                "--tables", str(out / "tables"), "--figures", str(out),
                "--report", str(out / "report.md")]
    return []


def scrape_outputs(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Show the PNG files the running example wrote to its output folder.

    Each file is shown once, after the code block in which it appeared (a sphinx-gallery
    image scraper).
    """
    from sphinx_gallery.scrapers import figure_rst

    out = OUTPUT / Path(block_vars["src_file"]).stem
    shown = block_vars.setdefault("credibility_shown", set())
    images = []
    for png in sorted(out.glob("**/*.png")):
        if png in shown:
            continue
        shown.add(png)
        target = Path(next(block_vars["image_path_iterator"]))
        shutil.copyfile(png, target)
        images.append(str(target))
    return figure_rst(images, gallery_conf["src_dir"])
