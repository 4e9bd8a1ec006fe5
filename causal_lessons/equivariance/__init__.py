"""Chapter 3, *Group-theoretic equivariance and disentanglement* (``book/equivariance/index.md``).

Groups acting on images (:mod:`~causal_lessons.equivariance.groups`), equivariance and its measured error, and
lifting and group convolutions for the rotations :math:`C_4` and the symmetries of the square :math:`D_4` that are
equivariant by construction (:mod:`~causal_lessons.equivariance.group_conv`); equivariance with an output
representation fitted from data, after Lenc and Vedaldi (:mod:`~causal_lessons.equivariance.fitted`); Higgins et
al.'s definition of disentanglement and a leakage measure (:mod:`~causal_lessons.equivariance.disentangle`); and
the experiment behind the talk's slogan -- equivariance can be built in, decomposability can be bought with data:
CNNs, a CNN trained with rotation augmentation and C4 and D4 G-CNNs, at matched parameter counts and equal
training budgets, trained on upright digits and tested on rotated ones
(:mod:`~causal_lessons.equivariance.rotated_digits`, sized by :mod:`~causal_lessons.equivariance.lab`). Its claim
rows: :mod:`~causal_lessons.equivariance.claims`.
"""
