"""Where instructors grade: each autograder zip installs what it needs in a fresh environment and grades there.

``otter grade`` (Docker) and Gradescope build a container from the zip: its ``setup.sh`` creates the conda
environment of its ``environment.yml`` -- a Python version, ``jupyter_server``, and with pip the pinned otter-grader
and the requirements that ``exercises/build.py`` declares (PyTorch's CPU index as an extra index, torch pinned to
the version that built the zip, the course package from the same source as the student set-up cell). conda and
mamba write the pip section to a requirements file and run ``pip install -r`` on it.

Offline, the tests below check that every zip asks for torch's CPU build, and that pip, offered ``torch==X`` by
the registry and ``X+cpu`` by the CPU index, picks ``X+cpu`` (two stand-in wheels, no index reached).

With the package registry (``fresh_env``): Docker is not available where these tests run, so the last test does
what the container does without conda: a fresh virtual environment of the zip's Python version (checked) gets the
zip's pip section as a requirements file and the course package from the source the zip names (here a copy of
this checkout), and its torch must be a CPU build; then that environment's ``otter run`` grades each exercise's
reference solution at full marks and its blank notebook at zero, with the kernel importing the package from the
fresh environment. pip reaches the registry and PyTorch's index (the network guard is off for pip alone); where
``download.pytorch.org`` cannot be resolved (a machine with a local mirror of the registry), pip tries each page
once, warns and goes on. The gradings run under the guard.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

import nbformat
import pytest
import torch
import yaml
from exercise_tools import (
    GUARD_DIR,
    Exercise,
    build,
    built,
    copy_checkout,
    fresh_venv,
    grade,
    reference_answers,
    student_notebook,
    submission,
    unguarded_env,
)

SLUGS = build.masters()


def declared(zip_path: Path) -> tuple[str, list[str], list[str]]:
    """The zip's environment: (Python version, other conda packages, pip requirements)."""
    with zipfile.ZipFile(zip_path) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d.removeprefix("python=") for d in conda if d.startswith("python="))
    return python, [d for d in conda if not d.startswith("python=") and d != "pip"], pip


def test_every_zip_asks_for_torch_s_cpu_build():
    requirements = build.autograder_requirements("causal-lessons @ git+https://example.org/causal-lessons.git")
    assert requirements[:2] == ["--extra-index-url https://download.pytorch.org/whl/cpu", build.torch_requirement()]
    assert build.torch_requirement() == f"torch=={torch.__version__.split('+')[0]}", "the torch that proves the zips"
    for slug in SLUGS:
        _, _, pip = declared(built(Exercise.course(slug)) / f"{slug}-autograder.zip")
        assert requirements[:2] == [line for line in pip if "torch" in line], f"{slug}: {pip}"
        assert build.pip_source() in pip, f"{slug}: the course package is not required: {pip}"


def _stand_in_wheel(folder: Path, version: str) -> None:
    """An empty wheel of torch ``version``: enough for pip to choose between candidates and read their metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"torch-{version}.dist-info"
    metadata = EmailMessage()
    metadata["Metadata-Version"], metadata["Name"], metadata["Version"] = "2.1", "torch", version
    with zipfile.ZipFile(folder / f"torch-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{info}/METADATA", metadata.as_string())
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")


def test_pip_picks_the_cpu_build_of_the_pinned_torch(tmp_path):
    """The zip's own requirement lines, the two indexes stood in for by two local folders: the registry's
    ``torch==X`` (on Linux a CUDA build) and the CPU index's ``X+cpu``. No index is reached (``--no-index`` also
    drops the file's ``--extra-index-url``; the network guard would log any attempt)."""
    version = build.torch_requirement().removeprefix("torch==")
    _stand_in_wheel(tmp_path / "registry", version)
    _stand_in_wheel(tmp_path / "cpu-index", f"{version}+cpu")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(build.autograder_requirements("")[:2]) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-index", "--no-cache-dir",
                    "--find-links", str(tmp_path / "registry"), "--find-links", str(tmp_path / "cpu-index"),
                    "-d", str(tmp_path / "got"), "-r", str(requirements)], check=True, env=env)
    assert [p.name for p in (tmp_path / "got").iterdir()] == [f"torch-{version}+cpu-py3-none-any.whl"]


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    """Every exercise built with a copy of this checkout as the package's source."""
    source = copy_checkout(tmp_path_factory.mktemp("checkout") / "causal-lessons")
    out = tmp_path_factory.mktemp("zips")
    return {slug: build.build(slug, out / slug, source=str(source)) / f"{slug}-autograder.zip" for slug in SLUGS}


def _resolves(host: str) -> bool:
    """Whether ``host`` resolves from here (asked outside the network guard, as pip would)."""
    probe = f"import socket; socket.getaddrinfo({host!r}, 443)"
    return subprocess.run([sys.executable, "-c", probe], env=unguarded_env(), capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def grader_python(zips, tmp_path_factory) -> Path:
    environments = {slug: declared(path) for slug, path in zips.items()}
    python, conda, pip = environments[SLUGS[0]]
    assert all(e == (python, conda, pip) for e in environments.values()), environments
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", "the zip declares another Python"
    assert any(str(Path(tmp_path_factory.getbasetemp())) in p for p in pip), f"the package is not required: {pip}"
    folder = tmp_path_factory.mktemp("autograder")
    venv = fresh_venv(folder / "venv")
    # As conda and mamba install an environment.yml's pip section: one requirements file, option lines included.
    requirements = folder / "requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    retries = [] if _resolves("download.pytorch.org") else ["--retries", "0"]
    subprocess.run([str(venv), "-m", "pip", "install", "-q", *retries, *conda, "-r", str(requirements)], check=True,
                   env=unguarded_env())
    cuda = subprocess.run([str(venv), "-c", "import torch; print(torch.version.cuda)"], check=True,
                          capture_output=True, text=True, env=unguarded_env()).stdout.strip()
    assert cuda == "None", f"the autograder's environment installed a CUDA build of torch (CUDA {cuda})"
    return venv


@pytest.mark.fresh_env
@pytest.mark.parametrize("slug", SLUGS)
def test_autograder_installs_what_it_needs_and_grades_in_a_fresh_environment(zips, grader_python, slug, tmp_path):
    dist = zips[slug].parent
    where = tmp_path / "package.txt"
    reference = submission(dist, slug, reference_answers(dist, slug))
    reference.cells.append(nbformat.v4.new_code_cell(
        f"import pathlib, causal_lessons\npathlib.Path({str(where)!r}).write_text(causal_lessons.__file__)"))
    paths = [tmp_path / "reference.ipynb", tmp_path / "blank.ipynb"]
    nbformat.write(reference, paths[0])
    nbformat.write(student_notebook(dist, slug), paths[1])
    # As in the container: no size chosen, no kernels but the environment's own; the network guard stays on.
    env = unguarded_env(PYTHONPATH=str(GUARD_DIR), CAUSAL_LESSONS_NETLOG=os.environ.get("CAUSAL_LESSONS_NETLOG", ""),
                        JUPYTER_PATH="", JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))
    env.pop("CAUSAL_LESSONS_QUICK", None)
    autograder = grade.Autograder.read(zips[slug])
    full, blank = grade.grade_many(autograder, paths, timeout=600, jobs=2, env=env, python=grader_python)
    assert full.status == grade.GRADED, f"{full.reason}\n{full.log[-4000:]}"
    assert full.scores == autograder.points, full.scores
    assert blank.status == grade.GRADED and not any(blank.scores.values()), blank.scores
    assert Path(where.read_text()).is_relative_to(grader_python.parent.parent), "the kernel imported another package"
