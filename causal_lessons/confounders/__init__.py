"""Chapter 2, *Confounders in detection datasets* (``book/confounders/index.md``).

Objects co-occur in COCO because scenes make them co-occur. The chapter computes association and VC R-CNN's
object-strata backdoor estimate from the real label matrices, vectorised, with bootstrap intervals over images
and the strata the estimator silently drops (:mod:`~causal_lessons.confounders.cooccurrence`); checks the
estimator, and its claim to correct selection, in a synthetic world whose hidden scene is the true confounder
(:mod:`~causal_lessons.confounders.scenes`); shows VC R-CNN's feature-level intervention and measures the error
of its NWGM approximation (:mod:`~causal_lessons.confounders.vcrcnn`); and, in the lab, trains a CNN on images
whose colour is confounded with the class, plainly and with inverse-probability weighting towards do(context)
(:mod:`~causal_lessons.confounders.coloured_images`, :mod:`~causal_lessons.confounders.context_shortcut`, sizes in
:mod:`~causal_lessons.confounders.lab`). Diagrams: :mod:`~causal_lessons.confounders.dags`; the stratum
explorer: :mod:`~causal_lessons.confounders.explorers`; claim rows: :mod:`~causal_lessons.confounders.claims`.
"""
