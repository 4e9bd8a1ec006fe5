"""Causal Lessons: causality for vision and multimodal models.

The modules follow the course:

- :mod:`causal_lessons.runtime` -- quick/full size, device, seeding (every chapter);
- :mod:`causal_lessons.datasets` -- the shipped data, checksummed;
- :mod:`causal_lessons.scm`, :mod:`causal_lessons.estimation`, :mod:`causal_lessons.discovery`,
  :mod:`causal_lessons.dowhy_steps`, :mod:`causal_lessons.neural_adjustment` -- 1. correlation is not causation;
- :mod:`causal_lessons.cooccurrence`, :mod:`causal_lessons.scenes`, :mod:`causal_lessons.vcrcnn`,
  :mod:`causal_lessons.context_shortcut` -- 2. confounders in detection datasets;
- :mod:`causal_lessons.groups`, :mod:`causal_lessons.equivariance`, :mod:`causal_lessons.disentangle`,
  :mod:`causal_lessons.rotated_digits` -- 3. group-theoretic equivariance and disentanglement;
- :mod:`causal_lessons.token_stats`, :mod:`causal_lessons.tokenizers`, :mod:`causal_lessons.vqvae`,
  :mod:`causal_lessons.tiny_gpt` -- 6. multimodal tokenization;
- :mod:`causal_lessons.claims` and :mod:`causal_lessons.explorers` -- the claim check and the interactive explorers.
"""

__version__ = "0.1.0"
