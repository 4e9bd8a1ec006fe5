"""Grade a folder of submitted notebooks with an exercise's autograder zip and write one CSV of scores.

Usage::

    python exercises/grade.py correlation submissions/    # with exercises/correlation/dist/correlation-autograder.zip
    python exercises/grade.py correlation submissions/ --timeout 600 --jobs 4 --out scores.csv
    python exercises/grade.py --autograder path/to/x-autograder.zip submissions/
    make grade SUBMISSIONS=submissions EXERCISE=correlation [TIMEOUT=300] [JOBS=1] [UNSAFE=1]

Every ``*.ipynb`` directly in the folder is graded by ``otter run`` under a time limit, each from its own fresh
copy of the zip in its own folder (a random name), inside a sandbox (below). The CSV (default
``<folder>/<exercise>-scores.csv``) has one row per submission and the columns

``submission``, one column per question (points earned), ``total``, ``status``, ``reason``, ``seconds``, ``flags``

where ``status`` is ``graded``, ``timeout`` (the notebook ran past the limit: it hangs or is too slow; every
process it started is killed) or ``failed`` (no result: the kernel died, the file is not a notebook of this
exercise, ...). A submission that is not graded has empty scores, not zeros, and its ``reason`` says why; its
otter log is kept in ``<csv name>-logs/``. Grading executes each notebook from the top, so a cell that raises
costs its own question only.

Sandbox. Each ``otter run`` runs in bubblewrap (``bwrap``, the Debian package ``bubblewrap``; ``make sandbox``
installs it): the whole file system read-only, a private empty ``/tmp``, an empty ``/run`` (no service's socket),
the submission's own folder the only place it can write, the submissions folder, the CSV's folder and the zip's folder hidden (so that it cannot read
the other submissions or the solutions built beside the zip), no network (``--unshare-all``: its own network,
process, IPC and host-name namespaces), no capabilities, and no process left behind: the sandbox's processes die
with it (``--die-with-parent``, its own PID namespace). Where bubblewrap is missing or cannot create namespaces,
the command refuses to grade, saying why, unless ``--unsafe-no-sandbox`` (``make grade ... UNSAFE=1``) is given:
then ``otter run`` executes each student's code on this machine, as this user, with this user's files and
network. ``otter grade`` (Docker) remains the recommended path for Gradescope-scale classes.

The zip's SHA-256 is checked before and after every submission: if it changes, grading stops (no CSV) and says
which submission was being graded.

Flags. Before grading, every code cell a student wrote or changed is read (not run) and the ``flags`` column
names what it does that no answer needs (:data:`FLAGS`): redefining a builtin, assigning an attribute of an
imported module (monkeypatching), importing otter's internals, reading the autograder, writing or deleting files,
starting processes, using the network, running code built from strings. Flags are advisory: the score is computed
as for any submission; the instructor guide (``book/appendix/instructors.md``) says what to do with each.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import copy
import csv
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psutil

EXERCISES = Path(__file__).resolve().parent
GRADED, TIMEOUT, FAILED = "graded", "timeout", "failed"
UNSAFE_FLAG = "--unsafe-no-sandbox"


@dataclass
class Result:
    """The grading of one submission. ``scores`` maps each question to the points earned (empty unless graded);
    ``flags`` maps each integrity flag the submission raised to what raised it (see :func:`notebook_flags`)."""

    submission: str
    status: str
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    log: str = ""
    flags: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> float | None:
        return sum(self.scores.values()) if self.status == GRADED else None

    @property
    def flag_text(self) -> str:
        """The ``flags`` column: ``files: open(..., 'w'); processes: subprocess.Popen`` (empty: nothing flagged)."""
        return "; ".join(f"{name}: {', '.join(found[:3])}{', ...' if len(found) > 3 else ''}"
                         for name, found in self.flags.items())


class AutograderChanged(RuntimeError):
    """The autograder zip's checksum changed while submissions were graded."""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here."""


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class Autograder:
    """An autograder zip: its assignment name, the points of each question (in natural order) and its SHA-256 when
    it was read (every grading checks it before and after)."""

    path: Path
    name: str
    points: dict[str, float]
    sha256: str = ""

    @classmethod
    def read(cls, path: Path) -> Autograder:
        with warnings.catch_warnings():
            # Importing otter imports ipylab, whose trait declarations raise traitlets' DeprecationWarning
            # "Traits should be given as instances"; it is theirs, and harmless.
            warnings.filterwarnings("ignore", "Traits should be given as instances", DeprecationWarning)
            from otter.nbmeta_config import NBMetadataConfig
            from otter.test_files import create_test_file

        path = Path(path)
        if not zipfile.is_zipfile(path):
            raise ValueError(f"autograder must be an otter autograder zip; {path} is not a zip file")
        digest = sha256(path)
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
            name = json.loads(zf.read("otter_config.json"))["assignment_name"]
            tests = [n for n in zf.namelist() if re.fullmatch(r"tests/[^/]+\.py", n)]
            zf.extractall(tmp, members=tests)
            points = {}
            for member in sorted(tests, key=_natural):
                test = create_test_file(str(Path(tmp, member)), NBMetadataConfig())
                points[test.name] = float(test.possible)
        return cls(path, name, points, digest)

    def verify(self, path: Path, when: str) -> None:
        """Raise :class:`AutograderChanged` unless ``path`` has the zip's checksum."""
        if self.sha256 and sha256(path) != self.sha256:
            raise AutograderChanged(f"the autograder zip {path} changed {when} (its SHA-256 is no longer the one "
                                    "read at the start); grading stopped, no CSV written. Rebuild the zip "
                                    "(make exercises) and grade again; look at that submission first")


def _natural(text: str) -> list:
    """Sort key that puts q2 before q10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


# ---------------------------------------------------------------------------------------------------- sandbox
@dataclass(frozen=True)
class Sandbox:
    """bubblewrap: each grading sees the file system read-only, with a private ``/tmp`` and an empty ``/run`` (no
    service's socket: systemd's, D-Bus's, Docker's), the ``hidden`` folders empty, its own work folder the only
    writable place, no network, no capabilities, and its processes die with it."""

    bwrap: str
    hidden: tuple[Path, ...] = ()

    @classmethod
    def find(cls, hidden: Iterable[Path] = (), python: str | Path = sys.executable) -> Sandbox:
        """The sandbox, checked by running ``python`` in it; :class:`SandboxUnavailable` says why not."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed: make sandbox, or sudo apt-get install "
                                     "bubblewrap")
        folders = {Path(p).resolve() for p in hidden}
        sandbox = cls(bwrap, tuple(sorted(p for p in folders if p != Path(p.anchor))))
        with tempfile.TemporaryDirectory(prefix="grade-check-") as tmp:
            try:
                proc = subprocess.run(sandbox.command(Path(tmp), [str(python), "-c", "pass"], python=python),
                                      capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as err:
                raise SandboxUnavailable(f"bubblewrap failed to start: {err}") from err
        if proc.returncode != 0:
            hint = ""
            knob = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            if knob.is_file() and knob.read_text().strip() == "1":
                hint = (" (AppArmor forbids unprivileged user namespaces here: allow them for bwrap, or "
                        "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; see the instructor guide)")
            raise SandboxUnavailable(f"bubblewrap cannot create its namespaces here: "
                                     f"{(proc.stderr.strip() or f'exit status {proc.returncode}')[-300:]}{hint}")
        return sandbox

    def _needed(self, python: str | Path, work: Path, env: dict[str, str] | None) -> list[Path]:
        """What the grading Python needs that a hidden folder or the private /tmp would hide: its environment, the
        course checkout (an editable install), its import path. Bound back read-only, unless that would show all of
        /tmp or the work folder's parents again (a hidden folder inside one is emptied again after the binds)."""
        python = Path(python)
        pythonpath = (env if env is not None else os.environ).get("PYTHONPATH", "")
        candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), EXERCISES.parent,
                      python.absolute().parent.parent, python.resolve().parent.parent,
                      *(Path(p) for p in sys.path[1:] if p), *(Path(p) for p in pythonpath.split(os.pathsep) if p)}
        covered = [Path("/tmp"), Path("/run"), *self.hidden]
        needed = set()
        for path in candidates:
            with contextlib.suppress(OSError):
                path = path.resolve()
                if not path.exists() or not any(path.is_relative_to(c) and path != c for c in covered):
                    continue
                if not any(c.is_relative_to(path) for c in (Path("/tmp"), Path("/run"), work)):
                    needed.add(path)
        return sorted(needed, key=lambda p: len(p.parts))

    def command(self, work: Path, argv: list[str], *, python: str | Path = sys.executable,
                env: dict[str, str] | None = None) -> list[str]:
        """``argv`` (run by ``python`` with ``env``) in the sandbox, with ``work`` its only writable folder and
        its working folder ``work/in`` when there is one."""
        work = Path(work).resolve()
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        for path in self._needed(python, work, env):
            args += ["--ro-bind-try", str(path), str(path)]
        for folder in self.hidden:  # after those binds: a checkout bound back may hold a hidden folder
            args += ["--tmpfs", str(folder)]
        args += ["--bind", str(work), str(work)]
        if (work / "autograder.zip").is_file():
            args += ["--ro-bind", str(work / "autograder.zip"), str(work / "autograder.zip")]
        for folder in self.hidden:  # last: the binds above may need mount points in them
            args += ["--remount-ro", str(folder)]
        args += ["--chdir", str(work / "in" if (work / "in").is_dir() else work), "--", *map(str, argv)]
        return args


def sandbox_problem() -> str | None:
    """Why submissions cannot be sandboxed here (None: they can)."""
    try:
        Sandbox.find()
    except SandboxUnavailable as err:
        return str(err)
    return None


def _kill_tree(pid: int) -> None:
    """Kill a process and every process under it (the kernel runs in a session of its own, so killing the
    process group would miss it)."""
    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=30)


def _reap(work: Path) -> None:
    """Kill every process left from a grading outside the sandbox: those whose ``TMPDIR`` (which every process the
    grading starts inherits unless it changes it) or working folder lies in ``work``. The sandbox needs none of
    this (its processes die with it); without it, a process that changed both escapes."""
    left = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            places = (proc.environ().get("TMPDIR", ""), proc.cwd())
            if any(place == str(work) or place.startswith(f"{work}/") for place in places):
                left.append(proc)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=30)


def _failure_reason(log: str) -> str:
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the kernel died while running the notebook (os._exit, a crash or out of memory)"
    errors = [line.strip() for line in log.splitlines() if re.match(r"\s*[\w.]*(Error|Exception)\b.*:", line)]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return (errors or lines or ["otter run wrote no results"])[-1][:300]


# ---------------------------------------------------------------------------------------------------- grading
def grade_one(autograder: Autograder, notebook: Path, *, timeout: float, env: dict[str, str] | None = None,
              python: str | Path = sys.executable, sandbox: Sandbox | None = None) -> Result:
    """Grade one notebook with ``otter run`` (of the environment of ``python``) from a fresh copy of the zip, in a
    new folder of random name, in ``sandbox`` when one is given; kill it after ``timeout`` seconds. Raises
    :class:`AutograderChanged` if the zip's checksum differs before or after."""
    notebook = Path(notebook)
    flags = notebook_flags(notebook)
    autograder.verify(autograder.path, f"before {notebook.name} was graded")
    work = Path(tempfile.mkdtemp(prefix="grade-")).resolve()
    try:
        for sub in ("in", "out", "tmp", "home"):
            (work / sub).mkdir()
        zip_copy = work / "autograder.zip"
        shutil.copyfile(autograder.path, zip_copy)
        autograder.verify(zip_copy, f"while it was copied for {notebook.name}")
        # The submission takes the assignment's name, as the notebook the students were given.
        submission = work / "in" / f"{autograder.name}.ipynb"
        shutil.copyfile(notebook, submission)
        # otter run unpacks the zip (hidden tests included) into a temporary folder: keep it inside ours, so that
        # it is removed even when the run is killed. What Jupyter and IPython write goes there too (the sandbox
        # leaves the home folder read-only: caches such as matplotlib's fonts are read from it as usual).
        child_env = {**(env if env is not None else os.environ), "TMPDIR": str(work / "tmp"),
                     "JUPYTER_RUNTIME_DIR": str(work / "home" / "jupyter-runtime"),
                     "IPYTHONDIR": str(work / "home" / "ipython")}
        argv = [str(python), "-m", "otter", "run", "--no-logo", "-a", str(zip_copy), "-o", str(work / "out"),
                str(submission)]
        if sandbox is not None:
            argv = sandbox.command(work, argv, python=python, env=child_env)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=work / "in", env=child_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        timed_out = False
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc.pid)
            log, _ = proc.communicate()
        seconds = time.perf_counter() - start
        if sandbox is None:
            _reap(work)
        autograder.verify(autograder.path, f"while {notebook.name} was graded")
        if timed_out:
            return Result(notebook.name, TIMEOUT, f"no result within {timeout:g} s (the notebook hangs or is too "
                          "slow); every process it started was killed", seconds=seconds, log=log, flags=flags)
        results = work / "out" / "results.json"
        try:
            tests = json.loads(results.read_text())["tests"]
            scores = {t["name"]: float(t["score"]) for t in tests if t.get("max_score")}
        except (OSError, ValueError, KeyError, TypeError):
            return Result(notebook.name, FAILED, _failure_reason(log), seconds=seconds, log=log, flags=flags)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    missing = sorted(set(autograder.points) - set(scores))
    if missing:
        return Result(notebook.name, FAILED, f"otter reported no score for {missing}", seconds=seconds, log=log,
                      flags=flags)
    return Result(notebook.name, GRADED, scores=scores, seconds=seconds, flags=flags)


def grade_many(autograder: Autograder, notebooks: list[Path], *, timeout: float, jobs: int = 1,
               env: dict[str, str] | None = None, python: str | Path = sys.executable,
               sandbox: Sandbox | None = None) -> list[Result]:
    """Grade ``notebooks`` (``jobs`` at a time), in the given order. With several jobs, each kernel gets an equal
    share of the CPU threads unless ``OMP_NUM_THREADS`` is set (oversubscribed torch threads slow every kernel).
    If the zip changes, no further submission starts and :class:`AutograderChanged` is raised."""
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs}")
    env = dict(os.environ if env is None else env)
    if jobs > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    stop = threading.Event()

    def one(notebook: Path) -> Result | None:
        if stop.is_set():
            return None
        try:
            return grade_one(autograder, notebook, timeout=timeout, env=env, python=python, sandbox=sandbox)
        except AutograderChanged:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, notebooks))


def write_csv(results: list[Result], autograder: Autograder, path: Path) -> None:
    """One row per submission: ``submission``, each question's points, ``total``, ``status``, ``reason``,
    ``seconds``, ``flags`` (scores empty when the submission was not graded)."""
    questions = list(autograder.points)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *questions, "total", "status", "reason", "seconds", "flags"])
        for r in results:
            points = [f"{r.scores[q]:g}" if r.status == GRADED else "" for q in questions]
            total = f"{r.total:g}" if r.total is not None else ""
            writer.writerow([r.submission, *points, total, r.status, r.reason, f"{r.seconds:.1f}", r.flag_text])


# ---------------------------------------------------------------------------------------------------- flags
FLAGS = {
    "builtin": "redefines a builtin (abs, all, float, ...), which the hidden tests may call",
    "monkeypatch": "assigns (or deletes) an attribute of an imported module or of something imported from one",
    "otter": "imports otter's internals or reaches into the grader (its frames, objects, hooks)",
    "autograder": "reads the autograder: its zip, its tests folder, the grader's processes or results",
    "files": "writes, moves or deletes files",
    "processes": "starts or signals processes (shell commands and cell magics included)",
    "network": "opens network connections or names a URL",
    "dynamic": "runs code that this check cannot read (exec, eval, __import__, ctypes, ...)",
}
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_")) | {"__import__", "__build_class__"}
_WRITE_MODE = re.compile(r"[wax+]")
_AUTOGRADER_TEXT = re.compile(r"autograder|otter_config|results\.(json|pkl)|submission_metadata|cmdline|\.zip$|"
                              r"(^|/)proc(/|$)|(^|[/\\])tests([/\\]|$)")
_URL = re.compile(r"^(https?|ftps?|wss?)://", re.I)
_IMPORT_FLAGS = {  # module (or its prefix) -> flag, when imported at all
    "subprocess": "processes", "multiprocessing": "processes", "pty": "processes", "pexpect": "processes",
    "socket": "network", "_socket": "network", "ssl": "network", "requests": "network", "httpx": "network", "aiohttp": "network",
    "urllib.request": "network", "urllib3": "network", "http.client": "network", "http.server": "network",
    "ftplib": "network", "smtplib": "network", "telnetlib": "network", "websocket": "network",
    "websockets": "network", "paramiko": "network",
    "psutil": "autograder", "zipfile": "autograder",
    "ctypes": "dynamic", "cffi": "dynamic", "runpy": "dynamic", "marshal": "dynamic",
}
_CALL_FLAGS = {  # qualified name (a prefix when it ends with '*') -> flag
    "os.remove": "files", "os.unlink": "files", "os.rmdir": "files", "os.removedirs": "files", "os.rename": "files",
    "os.renames": "files", "os.replace": "files", "os.mkdir": "files", "os.makedirs": "files", "os.chmod": "files",
    "os.chown": "files", "os.lchown": "files", "os.truncate": "files", "os.ftruncate": "files",
    "os.symlink": "files", "os.link": "files", "os.utime": "files", "os.mkfifo": "files", "os.mknod": "files",
    "os.open": "files", "os.write": "files", "shutil.*": "files",
    "subprocess.*": "processes", "os.system": "processes", "os.popen": "processes", "os.fork": "processes",
    "os.forkpty": "processes", "os.exec*": "processes", "os.spawn*": "processes", "os.posix_spawn*": "processes",
    "os.kill": "processes", "os.killpg": "processes", "multiprocessing.*": "processes", "pty.*": "processes",
    "concurrent.futures.ProcessPoolExecutor": "processes", "asyncio.create_subprocess_*": "processes",
    "pexpect.*": "processes", "platform.popen": "processes",
    "socket.*": "network", "requests.*": "network", "httpx.*": "network", "urllib.request.*": "network",
    "urllib3.*": "network", "http.client.*": "network", "ftplib.*": "network", "smtplib.*": "network",
    "aiohttp.*": "network",
    "os.getppid": "autograder", "psutil.*": "autograder", "zipfile.*": "autograder",
    "sys._getframe": "otter", "inspect.currentframe": "otter", "inspect.stack": "otter", "inspect.trace": "otter",
    "inspect.getouterframes": "otter", "gc.get_objects": "otter", "gc.get_referrers": "otter",
    "gc.get_referents": "otter", "sys.settrace": "otter", "sys.setprofile": "otter", "sys.addaudithook": "otter",
    "threading.settrace": "otter", "atexit.register": "otter",
    "exec": "dynamic", "eval": "dynamic", "compile": "dynamic", "__import__": "dynamic",
    "importlib.import_module": "dynamic", "importlib.__import__": "dynamic", "runpy.*": "dynamic",
    "marshal.loads": "dynamic", "pickle.loads": "dynamic", "dill.loads": "dynamic", "types.FunctionType": "dynamic",
    "types.CodeType": "dynamic", "ctypes.*": "dynamic",
}
_SAFE_CALLS = ("shutil.which", "shutil.get_terminal_size", "shutil.disk_usage", "socket.gethostname")
_FILE_METHODS = {"write_text", "write_bytes", "unlink", "rmdir", "touch", "symlink_to", "hardlink_to", "mkdir",
                 "chmod", "lchmod", "rmtree"}
_OPEN_CALLS = {"open", "io.open", "codecs.open", "os.fdopen", "io.FileIO", "pathlib.Path.open"}
_INTERNAL_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
                        "__globals__", "__closure__", "__code__", "__subclasses__", "__builtins__"}
_MAGICS = {  # IPython magic -> flag (other magics' bodies are read as Python)
    "bash": "processes", "sh": "processes", "script": "processes", "system": "processes", "sx": "processes",
    "python": "processes", "python2": "processes", "python3": "processes", "pypy": "processes",
    "perl": "processes", "ruby": "processes", "js": "processes", "javascript": "processes", "html": None,
    "writefile": "files", "file": "files", "save": "files", "store": "files", "bookmark": None,
    "run": "dynamic", "load": "dynamic", "load_ext": None, "matplotlib": None, "env": None, "set_env": None,
    "pip": "processes", "conda": "processes", "mamba": "processes", "cd": "files",
}
_IPYTHON_METHODS = ("system", "getoutput", "run_cell_magic", "run_line_magic")
# Configuration that ordinary code sets by assignment: not monkeypatching.
_SETTINGS = ("pandas.options.", "torch.backends.", "matplotlib.rcParams", "numpy.random.default_rng")


class _Scanner(ast.NodeVisitor):
    """Finds what the code of one cell does that no answer needs. ``imports`` maps each name bound by an import
    in the notebook (or an alias of one) to its dotted origin."""

    def __init__(self, imports: dict[str, str], found: dict[str, list[str]]) -> None:
        self.imports = imports
        self.found = found
        self.depth = 0  # 0: the notebook's namespace
        self.globals: set[str] = set()

    def flag(self, name: str, detail: str) -> None:
        details = self.found.setdefault(name, [])
        if detail not in details:
            details.append(detail)

    def scan(self, tree: ast.AST) -> None:
        self.globals = {n for node in ast.walk(tree) if isinstance(node, ast.Global) for n in node.names}
        self.visit(tree)

    # --- names
    def qual(self, node: ast.AST) -> str | None:
        """The dotted origin of an expression (``np.linalg.norm`` -> ``numpy.linalg.norm``), None when it is not
        an imported name, a builtin or an attribute of one."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            if node.id == "__builtins__":
                return "builtins"
            return node.id if node.id in _BUILTINS else None
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = _strip(self.qual(node.func))
            arg = _constant(node.args[0]) if node.args else None
            if func in ("__import__", "importlib.import_module") and isinstance(arg, str):
                return arg
            if func == "getattr" and len(node.args) >= 2 and isinstance(_constant(node.args[1]), str):
                base = self.qual(node.args[0])
                return f"{base}.{_constant(node.args[1])}" if base else None
            return None
        if isinstance(node, ast.Subscript):
            base = self.qual(node.value)
            key = _constant(node.slice)
            if base == "sys.modules" and isinstance(key, str):
                return key
            if base in ("builtins", "builtins.__dict__") and isinstance(key, str):
                return f"builtins.{key}"
        return None

    # --- scopes
    def _scoped(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind_name(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.depth += 1
        for child in (node.args, *node.body):
            self.visit(child)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind_name(node.name)
        self._scoped(node)

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scoped

    # --- bindings
    def _bind_name(self, name: str) -> None:
        if name in _BUILTINS and (self.depth == 0 or name in self.globals):
            self.flag("builtin", name)

    def _target(self, node: ast.AST, deleting: bool = False) -> None:
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self._target(element, deleting)
        elif isinstance(node, ast.Starred):
            self._target(node.value, deleting)
        elif isinstance(node, ast.Name):
            if not deleting:
                self._bind_name(node.id)
        elif isinstance(node, ast.Attribute):
            self._patched(self.qual(node))
            self.visit_Attribute(node)
        elif isinstance(node, ast.Subscript):
            base = node.value
            key = _constant(node.slice)
            if isinstance(base, ast.Call) and _strip(self.qual(base.func)) in ("globals", "vars", "locals") \
                    and not base.args:
                if isinstance(key, str) and key in _BUILTINS:
                    self.flag("builtin", key)
                else:
                    self.flag("dynamic", f"{_strip(self.qual(base.func))}()[...] =")
                return
            owner = self.qual(base)
            if owner == "sys.modules":
                self.flag("monkeypatch", f"sys.modules[{key!r}]" if isinstance(key, str) else "sys.modules[...]")
            elif owner and owner.startswith("builtins"):
                self.flag("builtin", str(key) if isinstance(key, str) else "builtins[...]")
            elif owner and owner.endswith(".__dict__"):
                self._patched(f"{owner[:-len('.__dict__')]}.{key}" if isinstance(key, str) else owner)
            elif isinstance(base, ast.Call) and _strip(self.qual(base.func)) == "vars" and base.args:
                inner = self.qual(base.args[0])
                if inner:
                    self._patched(f"{inner}.{key}" if isinstance(key, str) else inner)
            self.visit(node)

    def _patched(self, qualname: str | None) -> None:
        if not qualname:
            return
        if qualname.startswith("builtins."):
            self.flag("builtin", qualname.removeprefix("builtins."))
            return
        if qualname.split(".")[0] == "otter":
            self.flag("otter", qualname)
        elif "." in qualname and not qualname.startswith(_SETTINGS):
            self.flag("monkeypatch", qualname)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
        self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target)
            self.visit(node.value)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target, deleting=True)

    def visit_For(self, node: ast.For) -> None:
        self._target(node.target)
        for child in (node.iter, *node.body, *node.orelse):
            self.visit(child)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._target(node.optional_vars)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._target(node.target)
        self.visit(node.value)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind_name(node.name)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(alias.name, f"import {alias.name}")
            if alias.asname:
                self._bind_name(alias.asname)
            if alias.name.split(".")[0] == "otter" and alias.name != "otter":
                self.flag("otter", f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                self.flag("builtin", f"from {module} import * (may shadow builtins)")
                continue
            self._imported(f"{module}.{alias.name}", f"from {module} import {alias.name}")
            self._bind_name(alias.asname or alias.name)
        if module.split(".")[0] == "otter":
            self.flag("otter", f"from {module} import {', '.join(a.name for a in node.names)}")

    def _imported(self, module: str, text: str) -> None:
        for prefix, name in _IMPORT_FLAGS.items():
            if module == prefix or module.startswith(prefix + "."):
                self.flag(name, text)

    # --- uses
    def visit_Call(self, node: ast.Call) -> None:
        func = _strip(self.qual(node.func))
        if func:
            self._call(func, node)
        if isinstance(node.func, ast.Attribute):
            self._method(node.func, node)
        self.generic_visit(node)

    def _call(self, func: str, node: ast.Call) -> None:
        if func in _OPEN_CALLS or (func == "zipfile.ZipFile"):
            mode = _mode(node)
            if mode is None or _WRITE_MODE.search(mode):
                self.flag("files", f"{func}(..., {mode!r})" if mode else f"{func}(..., <computed mode>)")
        if func in ("setattr", "delattr", "object.__setattr__", "object.__delattr__") and len(node.args) >= 2:
            owner, name = self.qual(node.args[0]), _constant(node.args[1])
            self._patched(f"{owner}.{name if isinstance(name, str) else '<computed>'}" if owner else None)
        if func.endswith((".__setattr__", ".__delattr__")) or (func.endswith(".update") and (
                func.endswith(".__dict__.update") or self._is_vars_call(node))):
            self._patched(func.rsplit(".", 1)[0])
        if func in ("exec", "eval", "compile") and node.args and isinstance(_constant(node.args[0]), str):
            with contextlib.suppress(SyntaxError, ValueError):
                self.scan_more(_constant(node.args[0]))  # what it runs, when it is written out
        if func.startswith(_SAFE_CALLS):
            return
        for pattern, name in _CALL_FLAGS.items():
            if func == pattern or (pattern.endswith("*") and func.startswith(pattern[:-1])):
                self.flag(name, func)
        if func == "otter.Notebook" or not func.startswith("otter."):
            return
        self.flag("otter", func)

    def _is_vars_call(self, node: ast.Call) -> bool:
        owner = node.func.value if isinstance(node.func, ast.Attribute) else None
        return isinstance(owner, ast.Call) and _strip(self.qual(owner.func)) == "vars" and bool(owner.args) and \
            self.qual(owner.args[0]) is not None

    def _method(self, func: ast.Attribute, node: ast.Call) -> None:
        receiver = func.value
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and \
                receiver.func.id == "get_ipython":
            self._ipython(func.attr, node)
            return
        if self.qual(func):
            return  # a module's function: judged by its name in _call
        if func.attr in _FILE_METHODS:
            self.flag("files", f".{func.attr}()")
        elif func.attr == "open":
            mode = _mode(node, position=0)
            if mode is None or _WRITE_MODE.search(mode):
                self.flag("files", f".open({mode!r})" if mode else ".open(<computed mode>)")
        elif func.attr in ("rename", "replace") and isinstance(receiver, ast.Call) and \
                _strip(self.qual(receiver.func)) in ("pathlib.Path", "pathlib.PosixPath", "pathlib.PurePath"):
            self.flag("files", f"Path.{func.attr}()")
        if func.attr == "register" and isinstance(receiver, ast.Attribute) and receiver.attr == "events":
            self.flag("otter", "get_ipython().events.register")

    def _ipython(self, method: str, node: ast.Call) -> None:
        args = [_constant(a) for a in node.args]
        if method in ("system", "getoutput"):
            self.flag("processes", f"!{args[0]}"[:60] if args and isinstance(args[0], str) else "!...")
        elif method in ("run_cell_magic", "run_line_magic") and args and isinstance(args[0], str):
            magic = args[0]
            body = args[-1] if isinstance(args[-1], str) else ""
            prefix = "%%" if method == "run_cell_magic" else "%"
            if magic in _MAGICS:
                if _MAGICS[magic]:
                    self.flag(_MAGICS[magic], f"{prefix}{magic}")
            else:
                # %%time, %%capture, %timeit, ...: their body is Python, run in the notebook.
                with contextlib.suppress(SyntaxError, ValueError):
                    self.scan_more(body)

    def scan_more(self, source: str) -> None:
        tree = ast.parse(_transform(source))
        depth, self.depth = self.depth, 0
        self.visit(tree)
        self.depth = depth

    def visit_Attribute(self, node: ast.Attribute) -> None:
        qualname = self.qual(node)
        if qualname and qualname.split(".")[0] == "otter" and qualname not in ("otter", "otter.Notebook"):
            self.flag("otter", qualname)
        elif node.attr in _INTERNAL_ATTRIBUTES:
            self.flag("otter", f".{node.attr}")
        elif node.attr.startswith("_") and isinstance(node.value, ast.Name) and node.value.id == "grader":
            self.flag("otter", f"grader.{node.attr}")
        elif isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and \
                node.value.func.id == "get_ipython" and node.attr not in _IPYTHON_METHODS:
            self.flag("dynamic", f"get_ipython().{node.attr}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and len(node.value) < 500 and not re.search(r"\s", node.value):
            if _AUTOGRADER_TEXT.search(node.value):
                self.flag("autograder", repr(node.value)[:60])
            if _URL.match(node.value):
                self.flag("network", repr(node.value)[:60])


def _constant(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _strip(qualname: str | None) -> str | None:
    return qualname.removeprefix("builtins.") if qualname else qualname


def _mode(node: ast.Call, position: int = 1) -> str | None:
    """The mode of an ``open``-like call ('r' when none is given; None when it is computed)."""
    for keyword in node.keywords:
        if keyword.arg == "mode":
            value = _constant(keyword.value)
            return value if isinstance(value, str) else None
    if len(node.args) > position:
        value = _constant(node.args[position])
        return value if isinstance(value, str) else None
    return "r"


@cache
def _transformer():
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython, magics and shell lines are read as Python (and do not parse)
        return None
    return TransformerManager()


def _transform(source: str) -> str:
    """A cell's source as the kernel runs it: IPython's ``!cmd`` and ``%magic`` lines turned into Python."""
    transformer = _transformer()
    return transformer.transform_cell(source) if transformer else source


def _imports(trees: Iterable[ast.AST]) -> dict[str, str]:
    """``{name: dotted origin}`` for every name an import binds in these cells, and every plain alias of one
    (``m = np``)."""
    imports: dict[str, str] = {}
    trees = list(trees)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        imports[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name != "*":
                        imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for _ in range(3):  # aliases of aliases
        scanner = _Scanner(imports, {})
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    origin = scanner.qual(node.value)
                    if origin and origin not in _BUILTINS and node.targets[0].id not in imports:
                        imports[node.targets[0].id] = origin
    return imports


def code_flags(cells: Iterable[str], context: Iterable[str] = ()) -> dict[str, list[str]]:
    """``{flag: [what raised it, ...]}`` (in the order of :data:`FLAGS`) for the code ``cells``; the names the
    ``context`` cells import (the handed-out set-up cell) are known but their code is not flagged. A cell that does
    not parse is skipped: the kernel cannot run it either."""
    def parse(source: str) -> ast.AST | None:
        try:
            return ast.parse(_transform(source))
        except (SyntaxError, ValueError):
            return None

    trees = [t for t in map(parse, cells) if t is not None]
    known = [t for t in map(parse, context) if t is not None]
    imports = _imports([*known, *trees])
    found: dict[str, list[str]] = {}
    for tree in trees:
        _Scanner(imports, found).scan(tree)
    return {name: found[name] for name in FLAGS if name in found}


_FREE, _TESTS_DIR = "<any string>", "<public tests folder>"


def _setup_shape(tree: ast.AST) -> tuple[str, list[str], object]:
    """A set-up cell's code without its data: the dump of its syntax tree with every string emptied and the
    ``PUBLIC_TESTS`` dict left out, the strings in order, and that dict (None when it is not a literal)."""
    tree = copy.deepcopy(tree)
    tests: object = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [ast.dump(t) for t in node.targets] == [
                ast.dump(ast.Name("PUBLIC_TESTS", ast.Store()))]:
            try:
                tests = ast.literal_eval(node.value)
            except ValueError:
                tests = None
            node.value = ast.Dict(keys=[], values=[])
    strings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
            node.value = ""
    return ast.dump(tree), strings, tests


@cache
def _setup_template() -> tuple[str, list[str]] | None:
    """The shape and strings of ``exercises/build.py``'s set-up cell, with its free strings (pip source, otter
    requirement) and its public tests folder as placeholders."""
    try:
        build = _build_module()
        source = build.SETUP_TEMPLATE.format(marker=build.SETUP_MARKER, default=_FREE, otter=_FREE, tests="{}",
                                             tests_dir=_TESTS_DIR)
    except Exception:  # grade.py copied out of the course repository: no cell is recognised
        return None
    shape, strings, _ = _setup_shape(ast.parse(source))
    return shape, strings


def is_setup_cell(source: str) -> bool:
    """Whether ``source`` is the set-up cell as handed out: the code of ``exercises/build.py``'s template (however
    formatted), where only the pip source, the otter requirement and the public tests (a dict of file names to
    text, written to a folder ``<slug>_public_tests``) may differ."""
    template = _setup_template()
    if template is None or "PUBLIC_TESTS" not in source:
        return False
    try:
        shape, strings, tests = _setup_shape(ast.parse(source))
    except (SyntaxError, ValueError):
        return False
    if shape != template[0] or len(strings) != len(template[1]):
        return False
    folders = {s for s, t in zip(strings, template[1]) if t == _TESTS_DIR}
    fixed = all(s == t for s, t in zip(strings, template[1]) if t not in (_FREE, _TESTS_DIR))
    return fixed and len(folders) == 1 and re.fullmatch(r"\w+_public_tests", folders.pop()) is not None and \
        isinstance(tests, dict) and all(isinstance(k, str) and re.fullmatch(r"[\w.-]+\.py", k) and
                                        isinstance(v, str) for k, v in tests.items())


def notebook_flags(path: Path) -> dict[str, list[str]]:
    """The integrity flags of a submitted notebook: :func:`code_flags` of its code cells but the handed-out set-up
    cell (empty when the file is not a notebook)."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                   for c in cells if c.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    setup = [s for s in sources if is_setup_cell(s)]
    return code_flags([s for s in sources if not is_setup_cell(s)], context=setup)


# ---------------------------------------------------------------------------------------------------- command
def _build_module():
    spec = importlib.util.spec_from_file_location("exercise_build", EXERCISES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exercise_autograder(slug: str) -> Path:
    """The zip of ``exercises/<slug>``: built if missing; a warning if its master changed since."""
    build = _build_module()
    if slug not in build.masters():
        raise ValueError(f"exercise must be one of {build.masters()}; got {slug!r}")
    dist = EXERCISES / slug / "dist"
    zip_path = dist / f"{slug}-autograder.zip"
    if not zip_path.is_file():
        print(f"building {zip_path.relative_to(EXERCISES.parent)} (python exercises/build.py {slug})", file=sys.stderr)
        build.build(slug)
        return zip_path
    info = json.loads((dist / "build.json").read_text()) if (dist / "build.json").is_file() else {}
    if info.get("hash") != build.build_hash(EXERCISES / slug, slug, info.get("pip_source", build.pip_source())):
        print(f"warning: {slug}'s master or build changed since {zip_path} was built; grade with the zip built with "
              "the student notebook you handed out", file=sys.stderr)
    return zip_path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", nargs="?", help="exercise slug (its zip: exercises/<slug>/dist/)")
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files")
    parser.add_argument("--autograder", type=Path, help="an autograder zip, instead of an exercise's")
    parser.add_argument("--out", type=Path, help="CSV to write (default: <submissions>/<exercise>-scores.csv)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per submission (default 300)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument(UNSAFE_FLAG, action="store_true",
                        help="grade without the bubblewrap sandbox where it cannot run: each student's code then "
                             "runs as you, with your files and network")
    args = parser.parse_intermixed_args(argv)
    if (args.exercise is None) == (args.autograder is None):
        parser.error("give an exercise slug or --autograder ZIP (one of them)")
    if not args.submissions.is_dir():
        parser.error(f"submissions must be a folder of .ipynb files; {args.submissions} is not a folder")
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be positive and --jobs at least 1")
    try:
        autograder = Autograder.read(args.autograder or exercise_autograder(args.exercise))
    except ValueError as err:
        parser.error(str(err))
    notebooks = sorted(args.submissions.glob("*.ipynb"))
    if not notebooks:
        parser.error(f"no .ipynb files in {args.submissions}")
    out = args.out or args.submissions / f"{autograder.name}-scores.csv"
    sandbox = None
    if args.unsafe_no_sandbox:
        print("warning: grading WITHOUT a sandbox (--unsafe-no-sandbox): each submission's code runs as you, with "
              "your files and network, and can change other submissions' grades", file=sys.stderr)
    else:
        try:
            # Hidden from every submission: the others, earlier CSVs and logs, the solutions built beside the zip.
            sandbox = Sandbox.find(hidden=[args.submissions, out.parent, autograder.path.parent])
        except SandboxUnavailable as err:
            parser.error(f"cannot sandbox the submissions: {err}. Each submission would run as you, with your files "
                         f"and network. Grade where bubblewrap works (make sandbox), use otter grade (Docker), or "
                         f"grade unsandboxed on a machine that holds nothing to protect: {UNSAFE_FLAG} "
                         "(make grade ... UNSAFE=1)")
    try:
        results = grade_many(autograder, notebooks, timeout=args.timeout, jobs=args.jobs, sandbox=sandbox)
    except AutograderChanged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    write_csv(results, autograder, out)
    logs = out.with_name(f"{out.stem}-logs")
    for r in results:
        if r.status != GRADED:
            logs.mkdir(exist_ok=True)
            (logs / f"{Path(r.submission).stem}.log").write_text(r.log)
    graded = sum(r.status == GRADED for r in results)
    where = "in the bubblewrap sandbox" if sandbox else "WITHOUT a sandbox"
    print(f"{out}: {graded} of {len(results)} submissions graded {where} (out of "
          f"{sum(autograder.points.values()):g} points)")
    for r in results:
        if r.status != GRADED:
            print(f"  {r.submission}: {r.status}: {r.reason} (log: {logs / (Path(r.submission).stem + '.log')})")
    flagged = [r for r in results if r.flags]
    if flagged:
        print(f"{len(flagged)} flagged (the flags column; what each flag means: book/appendix/instructors.md):")
        for r in flagged:
            print(f"  {r.submission}: {r.flag_text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
