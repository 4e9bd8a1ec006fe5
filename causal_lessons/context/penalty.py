r"""The IRMv1 penalty of Arjovsky et al. (2019), by autograd and in closed form.

IRM asks for a representation :math:`\Phi` on which one classifier :math:`w` is optimal in every training
environment. IRMv1 fixes the classifier to a scalar :math:`w = 1` multiplying the logits :math:`z = \Phi(x)`
and penalises how far :math:`w = 1` is from optimal in environment :math:`e`, by the squared gradient

.. math::

   P_e(z) = \Bigl(\frac{\partial}{\partial w}\, R_e(w z)\Bigr|_{w=1}\Bigr)^2, \qquad
   R_e(w z) = \frac{1}{n_e} \sum_{i \in e} \ell(w z_i, y_i).

For the logistic loss :math:`\ell(s, y) = \log(1 + e^{s}) - y s`, :math:`\partial \ell(w z, y) / \partial w =
(\sigma(w z) - y)\, z`, so at :math:`w = 1`

.. math:: P_e(z) = \Bigl(\frac{1}{n_e} \sum_{i \in e} (\sigma(z_i) - y_i)\, z_i\Bigr)^2 .

:func:`irmv1_penalty` computes the definition with autograd (``create_graph=True``, so that it can be trained
through); :func:`irmv1_penalty_closed_form` computes the formula; the tests check that they agree to 1e-6 on
random logits and labels, and ``bench/irm_penalty.py`` times both. :func:`example_gradients` returns the terms
:math:`g_i = (\sigma(z_i) - y_i) z_i` of the sum, which environment inference regroups.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _logits_and_labels(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got {type(logits).__name__}"
                        + (f" of {logits.dtype}" if isinstance(logits, torch.Tensor) else ""))
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim != 1 or len(logits) == 0:
        raise ValueError(f"logits must have shape (N,) or (N, 1) with N >= 1, got {tuple(logits.shape)}")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a tensor of labels in {{0, 1}}, got {type(y).__name__}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != logits.shape:
        raise ValueError(f"y must have one label per logit: logits have shape {tuple(logits.shape)}, "
                         f"y has shape {tuple(y.shape)}")
    if not torch.isfinite(logits.detach()).all():
        raise ValueError("logits must hold only finite numbers (no NaN or inf)")
    if y.dtype == torch.bool or not ((y == 0) | (y == 1)).all():
        raise ValueError("y must hold labels in {0, 1} (floats or integers)")
    return logits, y.to(logits.dtype)


def irmv1_penalty(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The IRMv1 penalty by its definition: the squared derivative of the mean binary cross-entropy with logits
    of :math:`(w z, y)` with respect to the scalar :math:`w`, at :math:`w = 1`.

    Parameters
    ----------
    logits
        :math:`z`, shape ``(N,)`` or ``(N, 1)``, floating point.
    y
        Labels in {0, 1} (float or integer), one per logit.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable with respect to ``logits`` (it is used as a training loss).

    Examples
    --------
    >>> z, y = torch.tensor([2.0, -1.0, 0.5], requires_grad=True), torch.tensor([1, 0, 0])
    >>> p = irmv1_penalty(z, y)
    >>> round(p.item(), 6), round(irmv1_penalty_closed_form(z, y).item(), 6)
    (0.004274, 0.004274)
    >>> p.backward(); z.grad.shape      # differentiable: it can be trained through
    torch.Size([3])
    """
    logits, y = _logits_and_labels(logits, y)
    w = torch.ones((), dtype=logits.dtype, device=logits.device, requires_grad=True)
    risk = F.binary_cross_entropy_with_logits(logits * w, y)
    (grad,) = torch.autograd.grad(risk, w, create_graph=True)
    return grad ** 2


def example_gradients(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Each example's term of the penalty's gradient, :math:`g_i = (\sigma(z_i) - y_i)\, z_i`.

    :math:`g_i > 0` exactly when the model gets example :math:`i` wrong (a positive logit for label 0 or a
    negative one for label 1).

    Examples
    --------
    >>> example_gradients(torch.tensor([2.0, -1.0]), torch.tensor([0.0, 0.0])).round(decimals=3)
    tensor([ 1.7620, -0.2690])
    """
    logits, y = _logits_and_labels(logits, y)
    return (torch.sigmoid(logits) - y) * logits


def irmv1_penalty_closed_form(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The IRMv1 penalty of the logistic loss in closed form, :math:`\bigl(\operatorname{mean}_i
    (\sigma(z_i) - y_i) z_i\bigr)^2` (see the module docstring for the derivation).

    Examples
    --------
    >>> z, y = torch.randn(100, dtype=torch.float64), (torch.rand(100) < 0.5).double()
    >>> bool(torch.isclose(irmv1_penalty_closed_form(z, y), irmv1_penalty(z, y)))
    True
    """
    return example_gradients(logits, y).mean() ** 2
