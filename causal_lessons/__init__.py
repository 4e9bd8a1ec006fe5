"""Causal Lessons: causality for vision and multimodal models.

The modules follow the course:

- :mod:`causal_lessons.runtime` -- quick/full size, device, seeding (every chapter);
- :mod:`causal_lessons.datasets` -- the shipped data, checksummed;
- :mod:`causal_lessons.scm` and :mod:`causal_lessons.estimation` -- correlation is not causation.
"""

__version__ = "0.1.0"
