"""The footer of every page says which commit and which size the book was built at.

"Built from commit 0123456789ab at the quick size." -- the commit is ``git rev-parse HEAD`` of the checkout being
built (marked "with uncommitted changes" when ``git status`` lists any), else ``GITHUB_SHA`` where there is no git
(a source archive built in CI), else "an unknown commit"; the size is :func:`causal_lessons.runtime.size`, which the
notebooks' kernels read from the same environment (``make book`` sets ``CAUSAL_LESSONS_QUICK=1``). In GitHub
Actions the commit links to its page in the repository that ran the workflow (``GITHUB_SERVER_URL``,
``GITHUB_REPOSITORY``); elsewhere it is plain text, since a local commit may exist nowhere else.

The text is appended to sphinx-book-theme's ``extra_footer`` (``html.extra_footer`` in ``_config.yml``), so the
published book (the ``book`` workflow, ``.github/workflows/book.yml``) says what it was built from.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: Characters of the commit's hash shown (the link carries the whole hash).
SHORT = 12


@dataclass(frozen=True)
class Commit:
    """What was built: ``sha`` (``None`` when unknown) and whether the work tree differed from it."""

    sha: str | None
    dirty: bool = False

    @property
    def short(self) -> str:
        return self.sha[:SHORT] if self.sha else "unknown"


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def build_commit(root: Path = ROOT, environ: Mapping[str, str] | None = None) -> Commit:
    """The commit being built: git's ``HEAD`` of ``root``, else ``GITHUB_SHA``, else unknown."""
    environ = os.environ if environ is None else environ
    head = _git(root, "rev-parse", "--verify", "HEAD")
    if head and head.strip():
        status = _git(root, "status", "--porcelain")
        return Commit(head.strip(), dirty=bool(status and status.strip()))
    sha = (environ.get("GITHUB_SHA") or "").strip()
    return Commit(sha or None)


def footer_html(commit: Commit, size: str, environ: Mapping[str, str] | None = None) -> str:
    """``<p class="build-info">Built from commit <code>…</code> at the <size> size.</p>``, the commit linked to
    its page when built in GitHub Actions from a clean checkout."""
    environ = os.environ if environ is None else environ
    code = f"<code>{escape(commit.short)}</code>"
    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    if commit.sha and not commit.dirty and server and repository:
        href = f"{server.rstrip('/')}/{repository}/commit/{commit.sha}"
        code = f'<a href="{escape(href)}">{code}</a>'
    what = f"commit {code}" if commit.sha else "an unknown commit"
    if commit.dirty:
        what += " with uncommitted changes"
    return f'<p class="build-info">Built from {what} at the {escape(size)} size.</p>'


def _add_footer(app: Any, config: Any) -> None:
    from causal_lessons.runtime import size

    options = dict(config.html_theme_options or {})
    text = footer_html(build_commit(), size())
    existing = str(options.get("extra_footer") or "").strip()
    options["extra_footer"] = f"{existing}\n{text}" if existing else text
    config.html_theme_options = options


def setup(app: Any) -> dict:
    app.connect("config-inited", _add_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
