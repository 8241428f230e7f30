"""Sphinx configuration of rumjax's documentation site: `make docs` builds it into docs/_build/html.

Sphinx + MyST-NB, as Flax and Optax: the API reference comes from the docstrings (autodoc, Google-style
Args/Returns through napoleon), the pages are the Markdown files beside this one, and the tutorial is a
MyST Markdown notebook (plain text, reviewable as a diff) that MyST-NB executes during the build.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import rumjax  # noqa: E402

project = "rumjax"
author = "The rumjax authors"
copyright = "2026, the rumjax authors"
release = rumjax.__version__
version = rumjax.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
]
source_suffix = {".md": "myst-nb"}
exclude_patterns = ["_build", "README.md"]
html_theme = "furo"
html_title = f"rumjax {release}"

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # the tutorial runs at every build: a broken example fails the build
nb_execution_timeout = 1800
nb_execution_raise_on_error = True
nb_execution_show_tb = True

# Links to files outside docs/ (configs/README.md, RESULTS.md, benchmarks/README.md) are the repository's;
# the site lists them as plain links rather than failing the build on them.
suppress_warnings = ["myst.xref_missing"]
