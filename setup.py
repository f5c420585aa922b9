"""The package pre-commit and prek install for the `greenlight` hook (.pre-commit-hooks.yaml).

A `language: python` hook is installed with `pip install .` of this repository. All this
package does is depend on the `greenlight-ci` wheel (the `greenlight` binary inside) of this
revision's version. It is a setup.py, not a pyproject.toml, so that this repository does not
look like a Python project to `greenlight run`; the wheel itself is built from
crates/greenlight-cli/pyproject.toml (`cargo xtask dist`).
"""

import re
from pathlib import Path

from setuptools import setup

CARGO_TOML = (Path(__file__).parent / "Cargo.toml").read_text(encoding="utf-8")
VERSION = re.search(r'^version = "([^"]+)"$', CARGO_TOML, re.MULTILINE).group(1)

setup(
    name="greenlight-ci-hook",
    version=VERSION,
    description="The greenlight pre-commit hook: depends on greenlight-ci of the same version",
    install_requires=[f"greenlight-ci=={VERSION}"],
    packages=[],
    py_modules=[],
)
