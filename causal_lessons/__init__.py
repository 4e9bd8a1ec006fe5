"""Causal Lessons: causality for vision and multimodal models.

The package reads like the course's table of contents. One slug names a chapter everywhere: ``book/<slug>/``
(its page and lab), ``exercises/<slug>/`` (its graded exercise), ``causal_lessons/<slug>/`` (its code, with
``claims.py`` computing its rows of the claim check) and ``tests/<slug>/`` (its tests).

The core, used by every chapter:

- :mod:`causal_lessons.runtime` -- quick/full/smoke size, iteration counts, device, seeding;
- :mod:`causal_lessons.datasets` -- the shipped data, checksummed;
- :mod:`causal_lessons.claims` -- the claim row, confidence intervals, verdict rules and the per-build cache;
- :mod:`causal_lessons.diagrams` -- causal diagrams drawn by graphviz;
- :mod:`causal_lessons.notebook` -- the figure style and glue for numbers in prose (every notebook);
- ``causal_lessons._checks`` -- argument checks that name the argument and what was expected.

The chapters, in the order of the book:

1. :mod:`causal_lessons.correlation` -- correlation is not causation;
2. :mod:`causal_lessons.confounders` -- confounders in detection datasets;
3. :mod:`causal_lessons.equivariance` -- group-theoretic equivariance and disentanglement;
4. :mod:`causal_lessons.context` -- class and context: invariance, IRM and discovered environments;
5. :mod:`causal_lessons.vision_language` -- vision-language models: prompts and equivariant similarity;
6. :mod:`causal_lessons.tokenization` -- multimodal tokenization.

Rules the layout keeps (``tests/test_layout.py`` reads every import and checks them):

- a chapter imports the core and earlier chapters only, never a later one, and the core imports no chapter, so
  the arrows run the way the book is read;
- two chapters that need the same thing get it from one place: the later chapter imports the earlier one's code
  (the coloured images of chapter 2 are the coloured digits of chapter 4) instead of copying it;
- explorers and plot helpers live in the chapter they draw.
"""

__version__ = "0.1.0"

#: Chapter slugs in the order of the book; ``_toc.yml`` orders the pages and must agree (a test checks it).
CHAPTERS = ("correlation", "confounders", "equivariance", "context", "vision_language", "tokenization")
