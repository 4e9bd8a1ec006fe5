"""Chapter 3, *Group-theoretic equivariance and disentanglement* (``book/equivariance/index.md``).

Groups acting on images (:mod:`~causal_lessons.equivariance.groups`), equivariance and its measured error, and
lifting and group convolutions that are equivariant by construction (:mod:`~causal_lessons.equivariance.group_conv`);
Higgins et al.'s definition of disentanglement and a leakage measure
(:mod:`~causal_lessons.equivariance.disentangle`); and the experiment behind the talk's slogan *decomposability
can be bought with data, equivariance cannot*: CNNs and G-CNNs trained on upright digits and tested on rotated
ones (:mod:`~causal_lessons.equivariance.rotated_digits`). Its claim rows:
:mod:`~causal_lessons.equivariance.claims`.
"""
