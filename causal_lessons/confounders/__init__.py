"""Chapter 2, *Confounders in detection datasets* (``book/confounders/index.md``).

Objects co-occur in COCO because scenes make them co-occur. The chapter computes association and VC R-CNN's
object-strata backdoor estimate from the real label matrices, vectorised
(:mod:`~causal_lessons.confounders.cooccurrence`), checks the estimator in a synthetic world whose hidden scene
is the true confounder (:mod:`~causal_lessons.confounders.scenes`), shows VC R-CNN's feature-level intervention
and its NWGM approximation (:mod:`~causal_lessons.confounders.vcrcnn`), and, in the lab, trains a CNN on images
whose colour is confounded with the class (:mod:`~causal_lessons.confounders.coloured_images`,
:mod:`~causal_lessons.confounders.context_shortcut`). The stratum explorer:
:mod:`~causal_lessons.confounders.explorers`. Its claim rows: :mod:`~causal_lessons.confounders.claims`.
"""
