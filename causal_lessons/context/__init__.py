"""Chapter 4, *Class and context: invariance, IRM and discovered environments* (``book/context/index.md``).

Context bias as a shortcut: in coloured digits (:mod:`~causal_lessons.context.coloured_digits`, Arjovsky et
al.'s coloured-MNIST setting on scikit-learn's digits) the colour of a digit follows its label with a strength
that differs between training environments and is reversed at test, so empirical risk minimisation learns the
colour. IRMv1 adds the squared gradient of each environment's risk with respect to a scalar multiplier of the
logits (:mod:`~causal_lessons.context.penalty`, by autograd and in closed form) and, trained with the true
environments by the loop of :mod:`~causal_lessons.context.training`, learns the shape. Without environment labels,
:mod:`~causal_lessons.context.inference` finds the partition that *maximises* a reference ERM model's penalty
(EIIL, the idea behind IP-IRM's partition step; IRMCon argues against estimating the context from a biased
classifier's predictions) and trains IRM on it; :mod:`~causal_lessons.context.experiment`
compares the models at equal size and budget -- with a control that keeps the inferred partition and drops the
penalty (group-balanced ERM), and a sweep of the penalty weight -- and measures what the discovered partition
captures (the colour shortcut) and the defect it gathers with it (label noise, through the reference model's use
of the shape).
:mod:`~causal_lessons.context.figures` draws the chapter's figures, :mod:`~causal_lessons.context.lab` holds its
sizes and :mod:`~causal_lessons.context.claims` its rows of the claim check.
"""
