"""Sphinx configuration of the documentation site (``make docs``; docs/decisions.md 48).

The pages are the Markdown files of this folder (MyST), the API reference is generated
from the package's numpydoc docstrings into ``api/generated/`` (one page per module,
found by walking the package, so a new module cannot be left out), the command-line
reference from the commands' own ``--help`` (``_ext/cli_reference.py``), and the gallery
from ``examples/``, executed while the site is built (``_ext/gallery_support.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

import gallery_support  # noqa: E402

import credibility  # noqa: E402

project = "credibility"
author = "credibility developers"
copyright = "2026, credibility developers"
release = version = credibility.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "cli_reference",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/*.ipynb", "gallery/*.py", "gallery/*.zip",
                    "gallery/*.md5", "gallery/*.json"]
# The gallery's pages are generated from examples/; the examples' own timing page is
# not part of the manual.
exclude_patterns += ["gallery/sg_execution_times.rst", "sg_execution_times.rst"]

# MyST: anchors for the headings, so that `model.md#several-dimensions` links resolve.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc + numpydoc: every public member in source order; numpydoc renders the
# Parameters/Returns/Raises/Examples sections. Class members are documented by autodoc
# itself, not listed again as numpydoc's autosummary tables.
autodoc_default_options = {"members": True, "member-order": "bysource",
                           "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False

html_theme = "pydata_sphinx_theme"
html_title = f"credibility {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": gallery_support.filename_pattern(),
    "ignore_pattern": gallery_support.ignore_pattern(),
    "reset_argv": "gallery_support.example_argv",
    "image_scrapers": ("gallery_support.scrape_outputs",),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 0,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
}


def _public_modules() -> list[str]:
    """Every module of the package whose name has no leading underscore.

    The command line's modules (``credibility.cli.*``) are not an API: their functions
    are the commands, which the command-line reference (cli.md) documents from their
    ``--help``; ``credibility.cli`` itself has its page, as when it was one module.
    """
    names = ["credibility"]
    for info in pkgutil.walk_packages(credibility.__path__, "credibility."):
        if info.name.startswith("credibility.cli."):
            continue
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


#: The modules that keep the old import paths (decisions 56 and 58): their
#: pages show what they re-export, without being a second target of its names.
_OLD_PATHS = {"credibility.schema", "credibility.spec", "credibility.datasets",
              "credibility.sampling", "credibility.diagnostics", "credibility.fitting",
              "credibility.store", "credibility.checks", "credibility.compare",
              "credibility.scenarios", "credibility.updating", "credibility.approximate",
              "credibility.plots",
              # Split into one module per concept (decision 59): these re-export their
              # modules' names, which those modules' own pages document.
              "credibility.kernels", "credibility.predictor", "credibility.simulate",
              "credibility.analysis.plots"}


def _write_api_pages() -> None:
    """One page per module under api/generated/, and the table of top-level names."""
    out = HERE / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for name in _public_modules():
        title = f"``{name}``"
        body = f"{title}\n{'=' * len(title)}\n\n.. automodule:: {name}\n"
        if name == "credibility":
            body += "   :no-members:\n"
        elif name in _OLD_PATHS:
            body += "   :no-index:\n"
        path = out / f"{name}.rst"
        wanted.add(path)
        if not path.exists() or path.read_text() != body:
            path.write_text(body)
    for stale in set(out.glob("*.rst")) - wanted:
        stale.unlink()

    rows = []
    for name in sorted(credibility.__all__, key=str.lower):
        if name == "__version__":
            continue
        # From the module the lazy table names, not from the package: walking the
        # package above imported credibility.validation, which imports the submodule
        # credibility.simulate, and that binds the submodule to the name `simulate`.
        where = credibility._LAZY.get(name, "credibility.errors")
        obj = getattr(importlib.import_module(where), name)
        module = obj.__module__
        summary = (importlib.import_module(module).__dict__[name].__doc__ or "").strip()
        summary = summary.splitlines()[0] if summary else ""
        role = "class" if isinstance(obj, type) else "func"
        rows.append(f"   * - :{role}:`credibility.{name} <{module}.{name}>`\n"
                    f"     - {summary}")
    table = ".. list-table::\n   :header-rows: 1\n   :widths: 30 70\n\n" \
            "   * - name\n     - what it is\n" + "\n".join(rows) + "\n"
    target = out / "top_level_names.inc"
    if not target.exists() or target.read_text() != table:
        target.write_text(table)


_write_api_pages()
