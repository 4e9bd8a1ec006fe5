"""pyproject.toml and environment.yml describe the same environment; the package ships its data."""

from __future__ import annotations

import re

import tomllib
import yaml


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("book", "grade", "dev"):
        wanted += project["optional-dependencies"][extra]
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = [p for p in pip if not p.startswith("-e")]
    assert {_name(s): s.replace(" ", "") for s in listed} == {_name(s): s.replace(" ", "") for s in wanted}
    assert "python>=3.10" in env["dependencies"]
    assert project["requires-python"] == ">=3.10"


def test_lower_bounds_only_for_colab_packages(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        if _name(spec) in {"torch", "numpy"}:
            assert "<" not in spec and "==" not in spec, f"{spec} would replace Colab's preinstalled build"


def test_jupyter_book_is_pinned_below_2(root):
    book = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["book"]
    assert "jupyter-book>=1.0.4,<2" in book


def test_data_files_are_package_data(root):
    cfg = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "data/*" in cfg["causal_lessons"]
