"""The GitHub Actions workflows (``.github/workflows/``), checked without GitHub: actionlint passes on every one of
them (and fails a broken one), they run the README's make commands instead of repeating their steps, they publish
the book with GitHub Pages and the exercises with a release; and the book's footer says which commit and which size
it was built at (``book/_ext/build_footer.py``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import build_footer  # noqa: E402  (book/_ext is not a package)
import course_repo  # noqa: E402

#: The workflows the README and "How to use" describe, and the make commands each must run, in order.
EXPECTED = {"tests": ["make test", "make smoke"], "book": ["make book"], "exercises": ["make exercises"],
            "full-size": ["make book"]}

#: What a workflow must not do itself: each is a step of a make command (or of the Makefile's set-up).
REPEATED_STEPS = {
    r"\bpip3?\s+install\b|\bpython3?\s+-m\s+pip\b": "installs packages (the make commands set up .venv)",
    r"\bjupyter[- ]book\b": "builds the book (make book)",
    r"\bpytest\b": "runs tests (make test, make smoke)",
    r"exercises/build\.py|\botter\s+(?:assign|run|grade)\b": "builds or grades exercises (make exercises, make grade)",
    r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b": "installs system packages (the Makefile's system and browser targets)",
    r"\s-m\s+venv\b|\bvirtualenv\b": "makes a virtual environment (the make commands do)",
}


# ---------------------------------------------------------------------------------------------------------------
# actionlint

def actionlint() -> str:
    """The actionlint binary the dev extra installs (next to this Python), else one on PATH."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint is a dev dependency (a wheel that ships the binary): pip install -e '.[dev]'"
    return found


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def run_actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", "-oneline", *map(str, files)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_actionlint_passes_on_every_workflow():
    files = workflow_files()
    assert {f.stem for f in files} >= set(EXPECTED), f"missing workflows: {set(EXPECTED) - {f.stem for f in files}}"
    proc = run_actionlint(*files)
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


def test_actionlint_fails_a_broken_workflow(tmp_path):
    """The check above is real: actionlint reports a missing `runs-on`, an unknown context and an unknown job."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    broken = folder / "broken.yml"
    broken.write_text("name: broken\non:\n  push:\njobs:\n  build:\n    steps:\n      - run: echo hi\n"
                      "  deploy:\n    needs: biuld\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.no_such_thing }}\n")
    proc = run_actionlint(broken, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert '"runs-on" section is missing' in out, out
    assert "biuld" in out and "no_such_thing" in out, out


# ---------------------------------------------------------------------------------------------------------------
# The README's commands, not their steps

def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def steps_of(data: dict) -> list[dict]:
    """Every step of a workflow's jobs, or of a composite action."""
    if "runs" in data:
        return list(data["runs"].get("steps", []))
    return [step for job in data.get("jobs", {}).values() for step in job.get("steps", [])]


def local_actions() -> list[Path]:
    return sorted(ACTIONS.glob("*/action.y*ml"))


def run_scripts(data: dict) -> list[str]:
    return [step["run"] for step in steps_of(data) if "run" in step]


def make_commands(scripts: list[str]) -> list[str]:
    return [f"make {m.group(1)}" for script in scripts for m in re.finditer(r"(?<![\w-])make\s+([\w-]+)", script)]


def repeated_steps(scripts: list[str]) -> list[str]:
    """What a workflow's run scripts do that a make command should do instead."""
    return [f"{line.strip()!r} {why}" for script in scripts for line in script.splitlines()
            for pattern, why in REPEATED_STEPS.items() if re.search(pattern, line)]


def readme_commands() -> set[str]:
    return set(re.findall(r"(?<![\w-])make [a-z]+", (ROOT / "README.md").read_text()))


def ci_commands() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("make ")]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_workflow_runs_the_readme_commands(name):
    path = WORKFLOWS / f"{name}.yml"
    scripts = run_scripts(load(path))
    commands = make_commands(scripts)
    assert commands == EXPECTED[name], f"{path.name} runs {commands}, expected {EXPECTED[name]}"
    assert set(commands) <= readme_commands(), f"{path.name} runs make commands the README does not give"
    assert not repeated_steps(scripts), f"{path.name} repeats what a make command does: {repeated_steps(scripts)}"


def test_the_tests_workflow_runs_what_ci_runs():
    assert make_commands(run_scripts(load(WORKFLOWS / "tests.yml"))) == ci_commands() == ["make test", "make smoke"]


def test_no_workflow_or_local_action_repeats_a_make_step():
    found = {path.relative_to(ROOT).as_posix(): repeated_steps(run_scripts(load(path)))
             for path in [*workflow_files(), *local_actions()]}
    found = {path: steps for path, steps in found.items() if steps}
    assert not found, f"run the README's make commands instead: {found}"


def test_the_step_check_catches_repeated_steps():
    scripts = ["python -m pip install -e '.[dev]'\njupyter-book build . --all", "pytest -q",
               "sudo apt-get install -y -q graphviz", "python3 -m venv .venv", "python exercises/build.py",
               "make test"]
    assert len(repeated_steps(scripts)) == 6, repeated_steps(scripts)
    assert repeated_steps(["make book", "echo PIP_EXTRA_INDEX_URL=x >> \"$GITHUB_ENV\"", "make smoke"]) == []
    assert make_commands(scripts) == ["make test"]


def test_workflows_use_official_or_local_actions_only():
    """Only GitHub's own actions (actions/...) and this repository's (./.github/actions/...)."""
    for path in [*workflow_files(), *local_actions()]:
        for step in steps_of(load(path)):
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"actions/[\w-]+@v\d+|\./\.github/actions/[\w-]+", uses), f"{path.name}: {uses}"


def uploads(data: dict, action: str) -> list[dict]:
    return [step.get("with", {}) for step in steps_of(data) if str(step.get("uses", "")).startswith(f"{action}@")]


def test_the_tests_workflow_keeps_the_book_and_the_screenshots():
    data = load(WORKFLOWS / "tests.yml")
    assert set(data["on"]) >= {"push", "pull_request"}
    paths = "\n".join(str(w.get("path", "")) for w in uploads(data, "actions/upload-artifact"))
    assert "_build/screenshots" in paths and "_build/html" in paths, paths
    # the book make test built lies in pytest's folder, which the make test step sets
    make_test = next(s for s in steps_of(data) if s.get("run") == "make test")
    basetemp = re.fullmatch(r"--basetemp=(.+)", make_test["env"]["PYTEST_ADDOPTS"]).group(1)
    assert f"{basetemp}/book*/_build/html" in paths, paths
    setup = steps_of(load(ACTIONS / "setup" / "action.yml"))
    assert any(s.get("with", {}).get("cache") == "pip" for s in setup), "pip's downloads are cached"
    assert any("apt" in str(s.get("with", {}).get("path", "")) for s in setup), "apt's downloads are cached"


def test_the_book_is_published_with_github_pages():
    data = load(WORKFLOWS / "book.yml")
    assert data["on"]["push"]["branches"] == [course_repo.repository().branch]
    (built,) = uploads(data, "actions/upload-pages-artifact")
    assert built["path"] == "_build/html", "make book builds into _build/html (README)"
    deploy = data["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_the_exercises_are_released_on_a_tag():
    data = load(WORKFLOWS / "exercises.yml")
    assert list(data["on"]) == ["push"] and "tags" in data["on"]["push"]
    assert data["permissions"] == {"contents": "write"}
    script = run_scripts(data)[-1]
    assert "gh release upload" in script
    assert "exercises/*/dist/student/*.ipynb" in script and "exercises/*/dist/*-autograder.zip" in script
    assert "dist/autograder" not in script and "results.json" not in script, "never the solutions or results"


def test_the_full_size_workflow_runs_on_a_chosen_runner_by_hand():
    data = load(WORKFLOWS / "full-size.yml")
    assert list(data["on"]) == ["workflow_dispatch"]
    (job,) = data["jobs"].values()
    assert "self-hosted" in job["runs-on"] and "${{ inputs.runner }}" in job["runs-on"]
    assert any(script.split()[-1] == "bench/full_size.py" for script in run_scripts(data))
    (table,) = uploads(data, "actions/upload-artifact")
    assert table["path"].rstrip("/") == "_build/bench"


# ---------------------------------------------------------------------------------------------------------------
# Where the book is published: generated from repository.url, like every other address

def test_the_pages_address_comes_from_the_repository():
    assert course_repo.Repository("https://github.com/Some-Owner/course").pages_url == \
        "https://some-owner.github.io/course/"
    assert course_repo.Repository("https://github.com/owner/owner.github.io").pages_url == "https://owner.github.io/"
    readme = (ROOT / "README.md").read_text()
    assert course_repo.repository().pages_url in readme, "the README gives the address the book is published at"


def test_sync_rewrites_the_readmes_pages_address():
    old = course_repo.Repository(f"https://github.com/{course_repo.PACKAGE}/{course_repo.PACKAGE}")
    fork = course_repo.Repository(f"https://github.com/A-Fork/{course_repo.PACKAGE}")
    text = f"Read it at {old.pages_url}index.html (source: {old.url})\n"
    assert course_repo.readme_text(text, fork) == f"Read it at {fork.pages_url}index.html (source: {fork.url})\n"


def test_the_pages_address_is_written_in_the_readme_only():
    repo = course_repo.repository()
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    found = []
    for name in filter(None, listed):
        path = ROOT / name
        if name == "README.md" or not path.is_file() or path.suffix in {".npz", ".png", ".zip"}:
            continue
        text = path.read_text(errors="replace")
        found += [f"{name}: {m.group(0)}" for m in course_repo.pages_pattern(repo).finditer(text)]
    assert not found, "generate the Pages address from _config.yml (course_repo.Repository.pages_url):\n" + \
        "\n".join(found)


# ---------------------------------------------------------------------------------------------------------------
# The footer: which commit, which size

def test_the_footer_text():
    sha = "0123456789abcdef0123456789abcdef01234567"
    actions = {"GITHUB_SERVER_URL": "https://example.org", "GITHUB_REPOSITORY": "owner/course"}
    Commit = build_footer.Commit
    assert build_footer.footer_html(Commit(sha), "quick", actions) == (
        '<p class="build-info">Built from commit <a href="https://example.org/owner/course/commit/'
        f'{sha}"><code>0123456789ab</code></a> at the quick size.</p>')
    assert build_footer.footer_html(Commit(sha), "full", {}) == \
        '<p class="build-info">Built from commit <code>0123456789ab</code> at the full size.</p>'
    assert build_footer.footer_html(Commit(sha, dirty=True), "quick", actions) == (
        '<p class="build-info">Built from commit <code>0123456789ab</code> with uncommitted changes at the quick '
        'size.</p>')
    assert build_footer.footer_html(Commit(None), "smoke", actions) == \
        '<p class="build-info">Built from an unknown commit at the smoke size.</p>'


def test_the_commit_is_gits_else_github_sha(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    nowhere = tmp_path / "not-a-repository"
    nowhere.mkdir()
    assert build_footer.build_commit(nowhere, {"GITHUB_SHA": "feedbeef"}) == build_footer.Commit("feedbeef")
    assert build_footer.build_commit(nowhere, {}) == build_footer.Commit(None)
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "page.md").write_text("# A page\n")
    subprocess.run([*git, "add", "page.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one page"], check=True)
    (tmp_path / "not-a-repository").rmdir()
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert build_footer.build_commit(tmp_path, {"GITHUB_SHA": "feedbeef"}) == build_footer.Commit(head)
    (tmp_path / "page.md").write_text("# A page, changed\n")
    assert build_footer.build_commit(tmp_path, {}) == build_footer.Commit(head, dirty=True)


def test_the_book_loads_the_footer_extension():
    from jupyter_book.config import get_final_config

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["build_footer"] == "book/_ext"
    final, *_ = get_final_config(user_yaml=ROOT / "_config.yml", cli_config={"latex_individualpages": False},
                                 sourcedir=ROOT)
    assert "build_footer" in final["extensions"]


def test_a_built_page_has_the_footer(tmp_path, monkeypatch):
    """A one-page Sphinx build with the book's theme and the extension: the footer names the commit and the size,
    after the theme's own extra footer."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\nextensions = ['build_footer']\n"
        "html_theme = 'sphinx_book_theme'\nhtml_theme_options = {'extra_footer': '<p>Made by hand.</p>'}\n")
    (src / "index.rst").write_text("A page\n======\n\nText.\n")
    monkeypatch.setenv("CAUSAL_LESSONS_QUICK", "1")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://example.org")
    monkeypatch.setenv("GITHUB_REPOSITORY", "owner/course")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (out / "index.html").read_text()
    footer = re.search(r'<div class="extra_footer">(.*?)</div>', html, re.S)
    assert footer, "no extra footer in the page"
    commit = build_footer.build_commit()
    text = re.sub(r"<[^>]+>", "", footer.group(1))
    assert "Made by hand." in text
    assert f"Built from commit {commit.short}" in text and text.rstrip().endswith("at the quick size."), text
    assert text.index("Made by hand.") < text.index("Built from")
