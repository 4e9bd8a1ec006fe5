"""The layout keeps its rules (see the package docstring): one slug names a chapter's page, lab, exercise, code
and tests; a chapter imports the core and earlier chapters only; the core imports no chapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "causal_lessons"


def chapter_slugs() -> list[str]:
    """Chapter slugs in the order of ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [f.split("/")[1] for f in files if f.startswith("book/") and f.endswith("/index")]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the ``causal_lessons`` modules that a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m == "causal_lessons" or m.startswith("causal_lessons.")}


def chapter_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() and parts[1] != "data" else None


def test_every_chapter_uses_its_slug_everywhere():
    slugs = chapter_slugs()
    assert slugs, "no chapters in _toc.yml"
    for slug in slugs:
        for place in (f"book/{slug}/index.md", f"book/{slug}/lab.ipynb", f"exercises/{slug}/{slug}.ipynb",
                      f"exercises/{slug}/wrong_answers.yml", f"causal_lessons/{slug}/__init__.py",
                      f"causal_lessons/{slug}/claims.py", f"causal_lessons/{slug}/lab.py",
                      f"exercises/{slug}/right_answers.yml", f"book/{slug}/exercise.ipynb"):
            assert (ROOT / place).is_file(), f"chapter {slug!r} lacks {place}"
        assert list((ROOT / "tests" / slug).glob("test_*.py")), f"chapter {slug!r} has no tests/{slug}/"
        doc = ast.get_docstring(ast.parse((PACKAGE / slug / "__init__.py").read_text())) or ""
        assert f"book/{slug}/index.md" in doc and len(doc) > 200, \
            f"causal_lessons/{slug}/__init__.py must say in a paragraph what the chapter teaches and link its page"
        claims = ast.parse((PACKAGE / slug / "claims.py").read_text())
        names = {n.name for n in claims.body if isinstance(n, ast.FunctionDef)}
        assert {"measure", "claims"} <= names, f"causal_lessons/{slug}/claims.py needs measure() and claims()"
        lab = ast.parse((PACKAGE / slug / "lab.py").read_text())
        names = {n.name for n in lab.body if isinstance(n, ast.FunctionDef)}
        assert {"settings", "job"} <= names, f"causal_lessons/{slug}/lab.py needs settings() and job()"


def test_no_chapter_folder_is_missing_from_the_book():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(chapter_slugs()), "every subpackage of causal_lessons is a chapter in _toc.yml"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_the_way_the_book_is_read(path):
    slugs = chapter_slugs()
    own = chapter_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    for module in imported_modules(path):
        other = chapter_of(module)
        if other is None or other == own:
            continue
        assert own is not None, f"the core module {path.name} imports the chapter {other} ({module})"
        assert slugs.index(other) < slugs.index(own), \
            f"chapter {own} imports {module}, from the later chapter {other}"


def test_the_layout_checker_sees_relative_imports(tmp_path):
    sample = PACKAGE / "equivariance" / "claims.py"
    found = imported_modules(sample)
    assert "causal_lessons.claims" in found and "causal_lessons.equivariance.rotated_digits" in found


def test_top_level_tests_are_the_shared_ones():
    allowed = {"test_book.py", "test_grading.py", "test_packaging.py", "test_netguard.py",
               "test_student_notebook.py", "test_datasets.py", "test_runtime.py", "test_claims.py",
               "test_diagrams.py", "test_layout.py", "test_bad_input.py", "test_autograder_env.py",
               "test_grade_cli.py", "test_book_sources.py", "test_smoke.py", "test_formatting.py", "test_lint.py",
               "test_workflows.py", "test_grade_sandbox.py", "test_answers.py"}
    extra = {p.name for p in (ROOT / "tests").glob("test_*.py")} - allowed
    assert not extra, f"chapter tests belong in tests/<slug>/: {sorted(extra)}"


def test_the_licences_are_stated_in_the_repository_and_on_every_page():
    import tomllib

    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    assert "CC BY-SA 4.0" in (ROOT / "LICENSE-TEXT.md").read_text()
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    assert "CC BY-SA 4.0" in footer and "MIT" in footer


def test_every_public_module_has_its_section_in_the_api_reference():
    api = (ROOT / "book" / "appendix" / "api.md").read_text()
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in sorted(PACKAGE.rglob("*.py"))]
    public = [m.removesuffix(".__init__") for m in modules if not any(part.startswith("_") and part != "__init__"
                                                                        for part in m.split("."))]
    missing = [m for m in public if m != "causal_lessons" and f".. automodule:: {m}\n" not in api]
    assert not missing, f"modules without a section in book/appendix/api.md: {missing}"
