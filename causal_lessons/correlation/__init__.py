"""Chapter 1, *Correlation is not causation* (``book/correlation/index.md``).

Chocolate consumption and Nobel prizes correlate across 23 countries (r = 0.791, Messerli 2012). The chapter
asks what it would take for chocolate to *cause* prizes: structural causal models and the do-operator as graph
surgery (:mod:`~causal_lessons.correlation.scm`), correlation with its interval and regression with an
adjustment set (:mod:`~causal_lessons.correlation.estimation`), DoWhy's four steps
(:mod:`~causal_lessons.correlation.dowhy_steps`), causal discovery with the PC algorithm
(:mod:`~causal_lessons.correlation.discovery`), backdoor adjustment with a neural outcome model for the lab
(:mod:`~causal_lessons.correlation.neural_adjustment`, configured by :mod:`~causal_lessons.correlation.lab`), an
explorer of confounding strength (:mod:`~causal_lessons.correlation.explorers`) and scatter labels that never
collide (:mod:`~causal_lessons.correlation.labels`). Its claim rows: :mod:`~causal_lessons.correlation.claims`.
"""
