"""One submission cannot change another's grade under ``make grade`` (``exercises/grade.py``), and tampering is
flagged: a folder holding five attacks and three honest submissions (the reference, the blank notebook, two wrong
answers) is graded in the bubblewrap sandbox; every honest submission keeps its score, the zip, the other
submissions and every file outside the gradings are unchanged, the network is out of reach, no process survives,
and each attack is flagged in the CSV. Without the sandbox the same attacks do the harm they aim at (the control),
and an attack that rewrites the zip stops the grading (its checksum). The static flagger is checked on snippets.

The attacks, each a cell added to the blank student notebook:

- ``zip``: rewrites the autograder zip it finds on its parents' command lines (and the one the test names) so that
  every test passes;
- ``detached``: starts a detached process that keeps writing zero scores into every grading folder it can find,
  and files into the submissions folder;
- ``tests``: overwrites the hidden tests in ``./tests`` (and in any other grading's folder) with tests that pass;
- ``network``: connects to a server the test listens with on this machine's loopback, and to the outside;
- ``outside``: writes files outside its folder: the course's ``_build``, ``/var/tmp``, ``/dev/shm``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
from exercise_tools import ROOT, Exercise, build, built, grade, reference_answers, student_notebook, submission

pytestmark = pytest.mark.grading
GRADE = ROOT / "exercises" / "grade.py"
TIMEOUT = 120  # seconds per submission: far above the warm-up's grading time

# ---------------------------------------------------------------------------------------------------- the attacks
REWRITE = '''
def _rewrite(text, passing=True):
    """An otter test file whose every case passes (or fails), from the original."""
    namespace = {}
    exec(text, namespace)
    test = namespace["test"]
    for suite in test["suites"]:
        for case in suite["cases"]:
            case["code"] = ">>> True\\nTrue" if passing else ">>> False\\nTrue"
    return "OK_FORMAT = True\\n\\ntest = " + repr(test) + "\\n"
'''

ZIP_ATTACK = REWRITE + '''
import io, os, re, pathlib, zipfile

def _ancestors():
    pid = os.getpid()
    while pid > 1:
        yield pid
        pid = int(re.search(r"PPid:\\s*(\\d+)", pathlib.Path(f"/proc/{pid}/status").read_text()).group(1))

_zips = {KNOWN_ZIP}
for _pid in _ancestors():
    for _arg in pathlib.Path(f"/proc/{_pid}/cmdline").read_bytes().split(b"\\0"):
        if _arg.endswith(b".zip"):
            _zips.add(os.path.abspath(_arg.decode()))
for _path in _zips:
    try:
        _buffer = io.BytesIO()
        with zipfile.ZipFile(_path) as _old, zipfile.ZipFile(_buffer, "w") as _new:
            for _item in _old.infolist():
                _data = _old.read(_item)
                if re.fullmatch(r"tests/[^/]+[.]py", _item.filename):
                    _data = _rewrite(_data.decode()).encode()
                _new.writestr(_item, _data)
        with open(_path, "wb") as _f:
            _f.write(_buffer.getvalue())
    except Exception:
        pass
'''

DETACHED_ATTACK = '''
import os, subprocess, sys
_code = REWRITE_SOURCE + """# MARKER
import glob, json, os, time
done = set()
zeros = json.dumps({"tests": [{"name": q, "score": 0, "max_score": 1} for q in QUESTIONS]})
end = time.time() + 100
while time.time() < end:
    for out in glob.glob(os.path.join(TMPROOT, "grade-*", "out")):
        try:
            with open(os.path.join(out, "results.json"), "w") as f:
                f.write(zeros)
        except OSError:
            pass
    for path in glob.glob(os.path.join(TMPROOT, "grade-*", "**", "tests", "*.py"), recursive=True):
        try:
            if path not in done:
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(_rewrite(text, passing=False))
                done.add(path)
        except Exception:
            pass
    for name in os.listdir(SUBMISSIONS) if os.path.isdir(SUBMISSIONS) else []:
        try:
            if name.endswith(".ipynb") and not name.startswith("attack"):
                with open(os.path.join(SUBMISSIONS, name), "w") as f:
                    f.write("overwritten")
            with open(os.path.join(SUBMISSIONS, "pwned-detached.txt"), "w") as f:
                f.write("written by a detached process")
        except OSError:
            pass
    time.sleep(0.05)
"""
# Out of its own session, with neither the grading's TMPDIR nor its folder: out of reach of grade.py's reaper too.
subprocess.Popen([sys.executable, "-c", _code], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
                 env={k: v for k, v in os.environ.items() if k != "TMPDIR"})
'''

TESTS_ATTACK = REWRITE + '''
import glob, os
for _path in glob.glob("tests/*.py") + glob.glob(os.path.join(TMPROOT, "grade-*", "**", "tests", "*.py"),
                                                recursive=True):
    try:
        with open(_path) as _f:
            _text = _rewrite(_f.read())
        with open(_path, "w") as _f:
            _f.write(_text)
    except (OSError, KeyError, SyntaxError):
        pass
'''

NETWORK_ATTACK = '''
import socket, _socket
try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as _s:
        _s.sendall(b"MARKER")
except OSError:
    pass
try:  # the outside, past the test run's network guard (it patches socket.socket, not _socket)
    _s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    _s.settimeout(3)
    _s.connect(("1.1.1.1", 53))
    _s.close()
except OSError:
    pass
'''

OUTSIDE_ATTACK = '''
import pathlib
for _path in TARGETS:
    try:
        pathlib.Path(_path).write_text("written by a submission")
    except OSError:
        pass
'''


def _code(template: str, **values) -> str:
    """The attack with its placeholders (KNOWN_ZIP, TMPROOT, ...) replaced by the values' Python literals (the
    MARKER by its text)."""
    for name, value in values.items():
        template = template.replace(name, value if name == "MARKER" else repr(value))
    return template


def _notebook(dist: Path, code: str) -> nbformat.NotebookNode:
    """The blank student notebook with ``code`` in a cell after the set-up cell."""
    nb = student_notebook(dist, "warmup")
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and grade.is_setup_cell(c.source))
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
    return nb


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _survivors(*needles: str) -> list[str]:
    """Processes (not zombies) whose command line holds one of ``needles``, after a few seconds' grace."""
    found = []
    for _ in range(20):
        found = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["status"] != psutil.STATUS_ZOMBIE and any(n in cmdline for n in needles):
                found.append(f"{proc.pid}: {cmdline[:200]}")
        if not found:
            return []
        time.sleep(0.5)
    return found


class Listener:
    """A TCP server on this machine's loopback that records what connects to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    self.received.append(conn.recv(100) or b"(connected)")
                except OSError:
                    self.received.append(b"(connected)")

    def close(self) -> None:
        self.server.close()


def _run_grade(zip_path: Path, folder: Path, out: Path, tmproot: Path, *extra: str) -> subprocess.CompletedProcess:
    # The gradings' folders go under tmproot, so that the attacks (and these tests) touch no other grading on this
    # machine. The network guard of the test run is left out: the sandbox, not the guard, must stop the network.
    tmproot.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"CAUSAL_LESSONS_NETLOG", "PYTHONPATH"}}
    env["TMPDIR"] = str(tmproot)
    return subprocess.run([sys.executable, str(GRADE), "--autograder", str(zip_path), str(folder), "--out", str(out),
                           "--timeout", str(TIMEOUT), "--jobs", "2", *extra],
                          capture_output=True, text=True, timeout=1200, env=env)


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


# ---------------------------------------------------------------------------------------------------- sandboxed
@pytest.fixture(scope="module")
def dist():
    return built(Exercise.course("warmup"))


@pytest.fixture(scope="module")
def attacked(dist, tmp_path_factory):
    problem = grade.sandbox_problem()
    if problem:
        pytest.fail(f"the grading sandbox cannot run here: {problem}")
    base = tmp_path_factory.mktemp("sandboxed")
    zip_path = base / "zips" / "warmup-autograder.zip"
    zip_path.parent.mkdir()
    shutil.copyfile(dist / "warmup-autograder.zip", zip_path)
    folder, tmproot, marker = base / "submissions", base / "tmproot", f"attack-{uuid.uuid4().hex}"
    folder.mkdir()
    outside = ROOT / "_build" / f".grade-sandbox-{marker}"
    outside.mkdir(parents=True)
    (outside / "canary.txt").write_text("the course's files")
    targets = [str(outside / "canary.txt"), str(outside / "new.txt"), f"/var/tmp/{marker}", f"/dev/shm/{marker}"]
    listener = Listener()
    answers = reference_answers(dist, "warmup")
    wrong = Exercise.course("warmup").wrong_answers()
    partial = {**answers, **{q: wrong[q][0] for q in list(answers)[:2]}}
    values = {"REWRITE_SOURCE": REWRITE, "KNOWN_ZIP": str(zip_path), "TMPROOT": str(tmproot),
              "SUBMISSIONS": str(folder), "QUESTIONS": list(answers), "PORT": listener.port, "TARGETS": targets,
              "MARKER": marker}
    notebooks = {
        "attack-zip": _notebook(dist, _code(ZIP_ATTACK, **values)),
        "attack-detached": _notebook(dist, _code(DETACHED_ATTACK, **values)),
        "attack-tests": _notebook(dist, _code(TESTS_ATTACK, **values)),
        "attack-network": _notebook(dist, _code(NETWORK_ATTACK, **values)),
        "attack-outside": _notebook(dist, _code(OUTSIDE_ATTACK, **values)),
        "full": submission(dist, "warmup", answers),
        "partial": submission(dist, "warmup", partial),
        "z-blank": student_notebook(dist, "warmup"),  # graded last: after every attack
    }
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    before = {"zip": grade.sha256(zip_path), "submissions": _digests(folder)}
    out = base / "scores.csv"
    try:
        proc = _run_grade(zip_path, folder, out, tmproot)
        survivors = _survivors(marker, str(tmproot))
        time.sleep(1)  # the listener's last connection, if any
        yield {"proc": proc, "rows": _rows(out) if out.is_file() else {}, "before": before, "zip": zip_path,
               "folder": folder, "survivors": survivors, "received": list(listener.received), "outside": outside,
               "targets": targets, "questions": list(answers), "partial": partial, "answers": answers}
    finally:
        listener.close()
        shutil.rmtree(outside, ignore_errors=True)
        for target in targets[2:]:
            Path(target).unlink(missing_ok=True)
        for proc in psutil.process_iter(["cmdline"]):
            if marker in " ".join(proc.info["cmdline"] or []):
                proc.kill()


def test_the_folder_is_graded_in_the_sandbox(attacked):
    proc = attacked["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "8 of 8 submissions graded in the bubblewrap sandbox" in proc.stdout, proc.stdout


def test_every_honest_submission_keeps_its_score(attacked):
    rows, questions = attacked["rows"], attacked["questions"]
    wrong = set(list(questions)[:2])
    expected = {"full.ipynb": {q: "1" for q in questions}, "z-blank.ipynb": {q: "0" for q in questions},
                "partial.ipynb": {q: "0" if q in wrong else "1" for q in questions}}
    for name, scores in expected.items():
        row = rows[name]
        assert row["status"] == "graded", (name, row)
        assert {q: row[q] for q in questions} == scores, (name, row)
        assert not row["flags"], (name, row["flags"])


def test_the_zip_and_the_other_submissions_are_unchanged(attacked):
    assert grade.sha256(attacked["zip"]) == attacked["before"]["zip"]
    assert _digests(attacked["folder"]) == attacked["before"]["submissions"]


def test_nothing_is_written_outside_the_gradings(attacked):
    outside = attacked["outside"]
    assert (outside / "canary.txt").read_text() == "the course's files"
    assert sorted(p.name for p in outside.iterdir()) == ["canary.txt"]
    assert not any(Path(t).exists() for t in attacked["targets"][2:]), "a submission wrote to /var/tmp or /dev/shm"
    assert not (attacked["folder"] / "pwned-detached.txt").exists()


def test_the_network_is_out_of_reach(attacked):
    assert attacked["received"] == [], "a submission reached a server on this machine's loopback"


def test_no_process_survives_its_grading(attacked):
    assert attacked["survivors"] == []


def test_every_attack_is_flagged(attacked):
    flags = {name: row["flags"] for name, row in attacked["rows"].items()}
    expected = {"attack-zip.ipynb": ["autograder", "files"], "attack-detached.ipynb": ["processes"],
                "attack-tests.ipynb": ["autograder", "files"], "attack-network.ipynb": ["network"],
                "attack-outside.ipynb": ["files"]}
    for name, names in expected.items():
        found = [part.split(":")[0] for part in flags[name].split("; ")]
        assert all(n in found for n in names), (name, flags[name])
    assert "flagged" in attacked["proc"].stdout


PROBE = '''
import errno, json, os, socket
def write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "written"
    except OSError as err:
        return errno.errorcode[err.errno]
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).close()
    loopback = "connected"
except OSError as err:
    loopback = str(err)
print(json.dumps({"run": os.listdir("/run"), "tmp": os.listdir("/tmp"), "hidden": os.listdir(HIDDEN),
                  "outside": write(OUTSIDE), "work": write(WORK), "loopback": loopback,
                  "interfaces": [name for _, name in socket.if_nameindex()],
                  "pids": [p for p in os.listdir("/proc") if p.isdigit()],
                  "capabilities": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]}))
'''


def test_what_a_sandboxed_process_sees(tmp_path):
    """Quick, without otter: inside the sandbox /run and the hidden folders are empty, /tmp holds only the way to
    the work folder, nothing outside it is writable, the loopback is the sandbox's own, no host process is
    visible, and no capability is left."""
    hidden = tmp_path / "submissions"
    hidden.mkdir()
    (hidden / "other.ipynb").write_text("another student's work")
    work = tmp_path / "work"
    (work / "in").mkdir(parents=True)
    outside = ROOT / "_build" / f".grade-sandbox-{uuid.uuid4().hex}.txt"
    listener = Listener()
    code = _code(PROBE, PORT=listener.port, HIDDEN=str(hidden), OUTSIDE=str(outside), WORK=str(work / "in" / "x"))
    try:
        sandbox = grade.Sandbox.find(hidden=[hidden])
        proc = subprocess.run(sandbox.command(work, [sys.executable, "-c", code]), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        seen = json.loads(proc.stdout)
        time.sleep(0.5)
        assert listener.received == [] and seen["loopback"] != "connected"
    finally:
        listener.close()
        written = outside.exists()
        outside.unlink(missing_ok=True)
    assert not written and seen["outside"] == "EROFS" and seen["work"] == "written"
    assert seen["run"] == [] and seen["hidden"] == []
    # /tmp shows only the way to the work folder, and to the checkout and its environment where they lie in /tmp
    # (bound read-only: the grading's Python needs them); pytest's folders may be elsewhere (--basetemp).
    bound = [work.resolve(), ROOT.resolve(), Path(sys.prefix).resolve()]
    expected = sorted({p.relative_to("/tmp").parts[0] for p in bound if p.is_relative_to("/tmp")})
    assert sorted(seen["tmp"]) == expected, seen["tmp"]
    assert seen["interfaces"] == ["lo"] and len(seen["pids"]) <= 3, seen
    assert int(seen["capabilities"], 16) == 0


# ---------------------------------------------------------------------------------------------------- unsandboxed
def test_without_the_sandbox_the_attacks_do_harm(dist, tmp_path):
    """The control: the same attacks, graded with --unsafe-no-sandbox, change another submission's score, write
    outside their folder and leave a process behind. (Its gradings' folders are kept under tmp_path.)"""
    folder, tmproot, marker = tmp_path / "submissions", tmp_path / "tmproot", f"attack-{uuid.uuid4().hex}"
    folder.mkdir()
    zip_path = tmp_path / "warmup-autograder.zip"
    shutil.copyfile(dist / "warmup-autograder.zip", zip_path)
    targets = [str(tmp_path / "outside.txt")]
    answers = reference_answers(dist, "warmup")
    values = {"REWRITE_SOURCE": REWRITE, "TMPROOT": str(tmproot), "SUBMISSIONS": str(folder),
              "QUESTIONS": list(answers), "TARGETS": targets, "MARKER": marker}
    nbformat.write(_notebook(dist, _code(DETACHED_ATTACK, **values)), folder / "attack-detached.ipynb")
    nbformat.write(_notebook(dist, _code(OUTSIDE_ATTACK, **values)), folder / "attack-outside.ipynb")
    nbformat.write(submission(dist, "warmup", answers), folder / "full.ipynb")
    out = tmp_path / "scores.csv"
    try:
        proc = _run_grade(zip_path, folder, out, tmproot, "--unsafe-no-sandbox", "--jobs", "1")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "WITHOUT a sandbox" in proc.stdout + proc.stderr
        full = _rows(out)["full.ipynb"]
        assert full["total"] != str(len(answers)), "the detached process did not change the reference's score"
        assert Path(targets[0]).read_text() == "written by a submission"
        assert (folder / "pwned-detached.txt").exists()
        assert _survivors(marker), "the detached process did not survive its grading"
    finally:
        for p in psutil.process_iter(["cmdline"]):
            if marker in " ".join(p.info["cmdline"] or []):
                p.kill()


def test_a_changed_zip_stops_the_grading(dist, tmp_path):
    """Unsandboxed, the zip attack rewrites the zip named on grade.py's command line: the checksum check after the
    submission stops the grading, says which submission, and writes no CSV."""
    folder, tmproot = tmp_path / "submissions", tmp_path / "tmproot"
    folder.mkdir()
    zip_path = tmp_path / "warmup-autograder.zip"
    shutil.copyfile(dist / "warmup-autograder.zip", zip_path)
    before = grade.sha256(zip_path)
    nbformat.write(_notebook(dist, _code(ZIP_ATTACK, KNOWN_ZIP=str(zip_path))), folder / "attack-zip.ipynb")
    nbformat.write(student_notebook(dist, "warmup"), folder / "blank.ipynb")
    out = tmp_path / "scores.csv"
    proc = _run_grade(zip_path, folder, out, tmproot, "--unsafe-no-sandbox", "--jobs", "1")
    assert grade.sha256(zip_path) != before, "the attack did not rewrite the zip"
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "changed while attack-zip.ipynb was graded" in proc.stderr and "no CSV written" in proc.stderr
    assert not out.exists()


def test_without_bubblewrap_grading_refuses_unless_told(dist, tmp_path):
    (tmp_path / "a.ipynb").write_text(json.dumps(student_notebook(dist, "warmup")))
    zip_path = str(dist / "warmup-autograder.zip")
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on it
    proc = subprocess.run([sys.executable, str(GRADE), "--autograder", zip_path, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "bubblewrap" in proc.stderr and "--unsafe-no-sandbox" in proc.stderr
    assert "UNSAFE=1" in proc.stderr and not (tmp_path / "warmup-scores.csv").exists()


def test_make_grade_passes_unsafe_on(tmp_path):
    dry = subprocess.run(["make", "-n", "grade", f"SUBMISSIONS={tmp_path}", "EXERCISE=warmup", "UNSAFE=1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert f"exercises/grade.py warmup {tmp_path}" in dry.stdout and "--unsafe-no-sandbox" in dry.stdout
    safe = subprocess.run(["make", "-n", "grade", f"SUBMISSIONS={tmp_path}", "EXERCISE=warmup"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert "--unsafe-no-sandbox" not in safe.stdout and "bwrap" in safe.stdout


# ---------------------------------------------------------------------------------------------------- the flagger
ORDINARY = [
    "import numpy as np\nx = np.mean([1.0, 2.0])",
    "import pandas as pd\nfrom causal_lessons.datasets import load_chocolate_nobel\ndf = load_chocolate_nobel()\n"
    "mean_chocolate = df['chocolate_kg_per_capita'].sum() / len(df)\nrenamed = df.rename(columns={'a': 'b'})",
    "text = 'a b'.replace('a', 'c')\nwith open('data.csv') as f:\n    rows = f.read()",
    "def total(values, sum=0, type=None):\n    max = 0\n    return [abs(v) for v in values]",
    "import torch\ntorch.manual_seed(0)\ntorch.backends.cudnn.deterministic = True\nmodel = torch.nn.Linear(2, 1)\n"
    "model.weight.data.zero_()",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)\n"
    "fig, ax = plt.subplots()\nax.title.set_text('x')",
    "import otter\ngrader = otter.Notebook(tests_dir='warmup_public_tests')\ngrader.check('q1_mean')",
    "%%time\nimport numpy as np\nnp.linalg.norm([3, 4])",
    "pd.options.display.max_rows = 10\nresult = {'x': 1}\nresult['x'] = 2",
]

FLAGGED = {
    "builtin": ["abs = lambda x: 0", "def all(values):\n    return True", "import builtins\nbuiltins.float = int",
                "from numpy import *", "globals()['isinstance'] = lambda *a: True",
                "def f():\n    global len\n    len = None", "for sum in range(3):\n    pass"],
    "monkeypatch": ["import numpy as np\nnp.allclose = lambda *a, **k: True",
                    "import numpy\nsetattr(numpy, 'corrcoef', lambda *a: 1)",
                    "from causal_lessons import datasets\ndatasets.load_chocolate_nobel = lambda: None",
                    "import sys\nsys.modules['numpy'].isclose = None", "import numpy as np\nm = np\nm.mean = max",
                    "import numpy as np\ndel np.testing"],
    "otter": ["from otter.test_files import create_test_file", "import otter.test_files",
              "import otter\notter.Notebook._tests_dir_override = 'tests'", "import sys\nframe = sys._getframe(1)",
              "import inspect\nnames = inspect.currentframe().f_back.f_globals", "grader._ignore_errors = True"],
    "autograder": ["import os\ncmd = open(f'/proc/{os.getppid()}/cmdline').read()", "import zipfile",
                   "import glob\nfiles = glob.glob('tests/*.py')", "text = open('../results/results.json').read()"],
    "files": ["open('answers.txt', 'w').write('x')", "import os\nos.remove('x')", "import shutil\nshutil.rmtree('y')",
              "from pathlib import Path\nPath('t.py').write_text('x')", "%%writefile notes.py\nprint(1)",
              "f = open('x', mode='a')"],
    "processes": ["import subprocess\nsubprocess.run(['ls'])", "!ls", "%%bash\necho hi",
                  "import os\nos.system('ls')", "from multiprocessing import Process", "%pip install requests"],
    "network": ["import socket", "import urllib.request\nurllib.request.urlopen('x')",
                "import pandas as pd\npd.read_csv('https://example.com/data.csv')", "import requests"],
    "dynamic": ["exec('x = 1')", "eval(input())", "mod = __import__('o' + 's')", "import ctypes",
                "import importlib\nm = importlib.import_module(name)"],
}


@pytest.mark.parametrize("code", ORDINARY)
def test_ordinary_code_is_not_flagged(code):
    assert grade.code_flags([code]) == {}


@pytest.mark.parametrize("flag,code", [(f, c) for f, codes in FLAGGED.items() for c in codes])
def test_each_flag_fires_on_its_pattern(flag, code):
    assert flag in grade.code_flags([code]), grade.code_flags([code])


def test_flags_follow_imports_across_cells_and_inside_strings():
    assert "processes" in grade.code_flags(["subprocess.Popen(['sleep', '9'])"], context=["import subprocess"])
    assert grade.code_flags(["import subprocess\nsubprocess.run(['pip', 'list'])"], context=["x = 1"])
    assert "builtin" in grade.code_flags(["exec('abs = None')"])
    assert "files" in grade.code_flags(["%%capture\nopen('x', 'w')"])


def test_the_handed_out_cells_raise_no_flag(dist, tmp_path):
    """The set-up cell (it installs packages, writes the public tests and imports otter) is recognised; every
    other cell of the student notebook and every reference solution is ordinary code."""
    nb = submission(dist, "warmup", reference_answers(dist, "warmup"))
    assert any(grade.is_setup_cell(c.source) for c in nb.cells if c.cell_type == "code")
    nbformat.write(nb, tmp_path / "reference.ipynb")
    assert grade.notebook_flags(tmp_path / "reference.ipynb") == {}
    changed = nbformat.read(tmp_path / "reference.ipynb", as_version=4)
    setup = next(c for c in changed.cells if c.cell_type == "code" and grade.is_setup_cell(c.source))
    setup.source = setup.source.replace("PUBLIC_TESTS = {", "PUBLIC_TESTS = {'x': __import__('os').getcwd(),")
    nbformat.write(changed, tmp_path / "changed.ipynb")
    assert grade.notebook_flags(tmp_path / "changed.ipynb"), "a changed set-up cell is read like any other"


@pytest.mark.parametrize("slug", build.masters())
def test_no_reference_solution_or_right_answer_is_flagged(slug):
    exercise = Exercise.course(slug)
    master = nbformat.read(exercise.folder / f"{slug}.ipynb", as_version=4)
    cells, in_tests = [], False
    for cell in master.cells:
        if cell.cell_type == "raw" and cell.source.strip().startswith(("# BEGIN TESTS", "# END TESTS")):
            in_tests = cell.source.strip().startswith("# BEGIN TESTS")
        elif cell.cell_type == "code" and not in_tests and not cell.source.lstrip().startswith("# ASSIGNMENT"):
            cells.append(cell.source)
    assert grade.code_flags(cells) == {}
    for question, codes in exercise.right_answers().items():
        for code in codes:
            assert grade.code_flags([code], context=cells) == {}, (question, code)


def test_outside_the_sandbox_a_left_process_of_the_grading_is_reaped(tmp_path):
    """Without the sandbox, grade.py kills what a grading left behind that still carries its TMPDIR or folder."""
    work = tmp_path / "grade-x"
    (work / "tmp").mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(work / "tmp")}
    by_env = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    by_cwd = subprocess.Popen(["sleep", "300"], cwd=work, start_new_session=True)
    bystander = subprocess.Popen(["sleep", "300"], cwd=tmp_path, start_new_session=True)
    try:
        grade._reap(work)
        by_env.wait(timeout=30)  # each would sleep for 300 s: ending within 30 s, it was killed
        by_cwd.wait(timeout=30)
        assert bystander.poll() is None
    finally:
        for proc in (by_env, by_cwd, bystander):
            proc.kill()
            proc.wait()
