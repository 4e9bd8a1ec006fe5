"""The course repository's address, set in one place: ``repository`` in ``_config.yml``.

Everything that points at the course repository reads it from there:

- the book's Colab badges and launch buttons (the Sphinx extension ``course_pages`` and sphinx-book-theme read
  the same ``_config.yml`` keys, translated by Jupyter Book into ``html_theme_options``);
- the code blocks of "How to use" (the ``repo-code`` directive of ``course_pages``);
- the exercises' set-up cell (``exercises/build.py`` imports :func:`repository`);
- the address GitHub Pages publishes the book at (:attr:`Repository.pages_url`, given in the README and kept in
  step by ``sync``; the ``book`` workflow, ``.github/workflows/book.yml``, publishes there);
- the install cell of every notebook page (the labs, the environment check). A notebook cell cannot read a
  configuration file -- it runs in Colab before anything is installed -- so its text is generated from
  ``_config.yml`` by :func:`install_cell` and kept in step by ``python book/_ext/course_repo.py sync``;
  ``tests/test_book_sources.py`` fails on any notebook whose install cell differs, and on any other file that
  spells out the repository's address (the README is checked, and rewritten by ``sync``, the same way).

A fork, or the course's final home, changes ``repository.url`` (and ``branch``) in ``_config.yml`` and runs
``python book/_ext/course_repo.py sync``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "_config.yml"

#: The package name pip installs; also the repository's name in the default address.
PACKAGE = "causal-lessons"

#: First line of every notebook's install cell: how :func:`sync` and the tests recognise it.
INSTALL_MARKER = "# Colab: install the course package (skipped where it is installed already)."

def address_pattern(repo: "Repository") -> re.Pattern[str]:
    """A regular expression matching ``github.com/<owner>/<name>`` for the configured name and for the package's
    own name, with any owner: an address left behind by a fork or a rename is caught too."""
    names = sorted({re.escape(repo.name), re.escape(PACKAGE)})
    return re.compile(rf"github\.com/[\w.-]+/(?:{'|'.join(names)})(?:\.git)?(?=[/@\s\"'`)>\]]|$)")


@dataclass(frozen=True)
class Repository:
    """The course repository, as ``_config.yml`` sets it.

    Attributes
    ----------
    url
        ``https://github.com/<owner>/<name>``, without ``.git``.
    branch
        The branch Colab opens and pip installs.
    path_to_book
        The book's folder inside the repository (``""``: the repository root).
    colab
        Colab's address (``launch_buttons.colab_url``).
    """

    url: str
    branch: str = "main"
    path_to_book: str = ""
    colab: str = "https://colab.research.google.com"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", self.url) or self.url.endswith(".git"):
            raise ValueError(f"repository.url must look like https://github.com/<owner>/<name>, got {self.url!r}")
        if not self.branch or any(c.isspace() for c in self.branch):
            raise ValueError(f"repository.branch must be a branch name, got {self.branch!r}")

    @property
    def slug(self) -> str:
        """``<owner>/<name>``."""
        return self.url.removeprefix("https://github.com/")

    @property
    def name(self) -> str:
        """The repository's name (the last part of the address)."""
        return self.slug.split("/")[1]

    @property
    def pip_requirement(self) -> str:
        """What pip installs the course package from: ``causal-lessons @ git+<url>.git@<branch>``."""
        return f"{PACKAGE} @ git+{self.url}.git@{self.branch}"

    @property
    def pages_url(self) -> str:
        """Where GitHub Pages publishes the book: ``https://<owner>.github.io/<name>/`` (GitHub writes the owner in
        lower case; a repository named ``<owner>.github.io`` is published at the root, ``https://<owner>.github.io/``).
        """
        owner, name = self.slug.split("/")
        host = f"{owner.lower()}.github.io"
        return f"https://{host}/" if name.lower() == host else f"https://{host}/{name}/"

    def colab_url(self, path: str) -> str:
        """Colab's address of the notebook at ``path`` (relative to the book's folder)."""
        inside = f"{self.path_to_book.strip('/')}/{path}".lstrip("/")
        return f"{self.colab.rstrip('/')}/github/{self.slug}/blob/{self.branch}/{inside}"


def repository(config: Path = CONFIG) -> Repository:
    """The course repository of ``_config.yml``."""
    data = yaml.safe_load(Path(config).read_text()) or {}
    repo = data.get("repository") or {}
    if "url" not in repo:
        raise ValueError(f"{config} has no repository.url")
    colab = (data.get("launch_buttons") or {}).get("colab_url") or Repository.colab
    return Repository(str(repo["url"]).rstrip("/"), str(repo.get("branch", "main")), str(repo.get("path_to_book") or ""),
                      str(colab))


def install_cell(repo: Repository) -> str:
    """The source of the first code cell of every notebook page (labs, environment check).

    It installs the course package in Colab and does nothing where the package is importable (the book build, a
    local environment), so building the book never reaches the network. Its lines are short enough that
    ``ruff format --line-length 88`` leaves them as they are for any repository address up to 70 characters.
    """
    return (
        f"{INSTALL_MARKER}\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        f'REPOSITORY = "{repo.url}"\n'
        f'BRANCH = "{repo.branch}"\n'
        'if importlib.util.find_spec("causal_lessons") is None:\n'
        f'    requirement = f"{PACKAGE} @ git+{{REPOSITORY}}.git@{{BRANCH}}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", "-q", requirement]\n'
        "    subprocess.run(pip, check=True)"
    )


def book_notebooks(root: Path = ROOT) -> list[Path]:
    """Notebook pages whose first code cell is the install cell: every ``book/**/*.ipynb`` except the exercises'
    student pages (generated by ``exercises/build.py``, whose set-up cell also installs otter-grader)."""
    return sorted(p for p in (root / "book").rglob("*.ipynb")
                  if p.name != "exercise.ipynb" and ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)


def install_cell_problems(path: Path, repo: Repository) -> list[str]:
    """Why the notebook's first code cell is not the install cell of ``repo`` (empty when it is)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return ["has no code cell"]
    first, problems = code[0], []
    if first.source.strip() != install_cell(repo):
        problems.append("its first code cell is not the install cell generated from _config.yml")
    if "remove-cell" not in first.metadata.get("tags", []):
        problems.append("its install cell is not tagged remove-cell (Colab runs it, the book hides it)")
    return problems


def sync(root: Path = ROOT, repo: Repository | None = None, paths: list[Path] | None = None) -> list[Path]:
    """Rewrite every notebook's install cell and the README's addresses from ``_config.yml`` (or only ``paths``).

    A notebook whose first code cell starts with :data:`INSTALL_MARKER` gets the generated cell (tagged
    ``remove-cell``); one without an install cell gets it inserted before its first code cell. Returns the files
    changed.
    """
    import nbformat

    repo = repo or repository(root / "_config.yml")
    changed = []
    chosen = None if paths is None else {Path(p).resolve() for p in paths}
    for path in book_notebooks(root):
        if (chosen is not None and path.resolve() not in chosen) or not install_cell_problems(path, repo):
            continue
        nb = nbformat.read(path, as_version=4)
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        if index < len(nb.cells) and nb.cells[index].source.startswith(INSTALL_MARKER):
            cell = nb.cells[index]  # rewritten in place: its id and other tags stay
            cell.source = install_cell(repo)
            cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {"remove-cell"})
        else:
            nb.cells.insert(index, nbformat.v4.new_code_cell(install_cell(repo), metadata={"tags": ["remove-cell"]}))
        nbformat.write(nb, path)
        changed.append(path)
    readme = root / "README.md"
    if readme.is_file() and (chosen is None or readme.resolve() in chosen):
        text = readme.read_text()
        new = readme_text(text, repo)
        if new != text:
            readme.write_text(new)
            changed.append(readme)
    return changed


def pages_pattern(repo: Repository) -> re.Pattern[str]:
    """A regular expression matching the book's GitHub Pages address, ``https://<owner>.github.io/<name>/``, for
    the configured name and for the package's own name, with any owner (as :func:`address_pattern`)."""
    names = sorted({re.escape(repo.name), re.escape(PACKAGE)})
    return re.compile(rf"https://[\w-]+\.github\.io/(?:{'|'.join(names)})/")


def readme_text(text: str, repo: Repository) -> str:
    """``text`` with every address of the course repository (repository, Colab, pip, GitHub Pages) pointing at
    ``repo``."""
    branch = r"[\w.-]+"
    text = pages_pattern(repo).sub(lambda m: repo.pages_url, text)
    text = re.sub(rf"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/{branch}/",
                  f"colab.research.google.com/github/{repo.slug}/blob/{repo.branch}/", text)
    text = re.sub(rf"{re.escape(PACKAGE)} @ git\+https://github\.com/[\w.-]+/[\w.-]+?\.git@{branch}(?<!\.)",
                  repo.pip_requirement, text)
    return address_pattern(repo).sub(
        lambda m: f"github.com/{repo.slug}" + (".git" if m.group(0).endswith(".git") else ""), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "check", "sync"],
                        help="show: print the configured addresses; check: list notebooks out of step; "
                             "sync: rewrite them (and the README) from _config.yml")
    parser.add_argument("paths", nargs="*", type=Path, help="sync: only these files (default: all)")
    args = parser.parse_args(argv)
    repo = repository()
    if args.command == "show":
        print(f"repository: {repo.url} (branch {repo.branch})\npip: {repo.pip_requirement}\n"
              f"colab: {repo.colab_url('book/<slug>/lab.ipynb')}\npages: {repo.pages_url}")
        return 0
    if args.command == "sync":
        for path in sync(ROOT, repo, args.paths or None):
            print(f"rewrote {path.relative_to(ROOT)}")
        return 0
    stale = {p: install_cell_problems(p, repo) for p in book_notebooks()}
    stale = {p: v for p, v in stale.items() if v}
    for path, problems in stale.items():
        print(f"{path.relative_to(ROOT)}: {'; '.join(problems)}")
    readme = ROOT / "README.md"
    if readme.is_file() and readme_text(readme.read_text(), repo) != readme.read_text():
        print("README.md: an address differs from _config.yml")
        return 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
