r"""Coloured images whose colour is confounded with the class: the generator shared by the context-shortcut lab
of chapter 2 and the coloured digits of chapter 4.

A grey-level shape (a glyph, a digit) carries the class :math:`y`; a colour index :math:`z` is drawn to agree
with the class with probability ``agreement``,

.. math:: P(z = y) = \text{agreement}, \qquad P(z = j \mid y) = \frac{1 - \text{agreement}}{k - 1}
   \quad (j \ne y),

and the image is painted with colour :math:`z` -- on the background or on the shape itself. With
``agreement = 1/k`` the colour is independent of the class: that is the intervened set :math:`do(z)`.
"""

from __future__ import annotations

import torch

from .._checks import check_probability

#: Four well-separated colours (RGB); chapter 2 uses all four, chapter 4 the first two (red and green).
PALETTE = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.6, 0.1], [0.1, 0.2, 0.8], [0.7, 0.6, 0.1]])


def confounded_colours(y: torch.Tensor, agreement: float, n_colours: int,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour indices that equal the class ``y`` with probability ``agreement``, else one of the others uniformly.

    Parameters
    ----------
    y
        Integer classes in ``[0, n_colours)``, shape ``(n,)``.
    agreement
        :math:`P(z = y)`, in [0, 1].
    n_colours
        The number of colours :math:`k \\ge 2`.
    generator
        Optional torch generator, for reproducible draws.

    Examples
    --------
    >>> y = torch.zeros(10_000, dtype=torch.long)
    >>> z = confounded_colours(y, 0.9, 2, torch.Generator().manual_seed(0))
    >>> round(float((z == y).float().mean()), 2)
    0.9
    """
    agreement = check_probability(agreement, "agreement")
    if isinstance(n_colours, bool) or not isinstance(n_colours, int) or n_colours < 2:
        raise ValueError(f"n_colours must be an integer >= 2, got {n_colours!r}")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype.is_floating_point or len(y) == 0:
        raise ValueError("y must be a non-empty 1-D integer tensor of classes")
    if int(y.min()) < 0 or int(y.max()) >= n_colours:
        raise ValueError(f"y must hold classes in [0, {n_colours}), got values in [{int(y.min())}, {int(y.max())}]")
    n = len(y)
    other = (y + torch.randint(1, n_colours, (n,), generator=generator)) % n_colours
    return torch.where(torch.rand(n, generator=generator) < agreement, y, other)


def colourise(shapes: torch.Tensor, colours: torch.Tensor, where: str = "background",
              palette: torch.Tensor = PALETTE) -> torch.Tensor:
    """Paint grey-level shapes with one colour each.

    Parameters
    ----------
    shapes
        ``(n, H, W)`` intensities in [0, 1] (1 = the shape).
    colours
        ``(n,)`` indices into ``palette``.
    where
        ``"background"``: the background takes the colour and the shape is white (chapter 2);
        ``"foreground"``: the shape takes the colour on a black background (chapter 4, as in coloured MNIST).
    palette
        ``(k, 3)`` RGB colours.

    Returns
    -------
    torch.Tensor
        ``(n, 3, H, W)`` images.

    Examples
    --------
    >>> img = colourise(torch.tensor([[[0.0, 1.0]]]), torch.tensor([0]), "foreground")
    >>> img[0, :, 0, 1].tolist() == PALETTE[0].tolist(), img[0, :, 0, 0].tolist()
    (True, [0.0, 0.0, 0.0])
    """
    if where not in {"background", "foreground"}:
        raise ValueError(f"where must be 'background' or 'foreground', got {where!r}")
    if not isinstance(shapes, torch.Tensor) or shapes.ndim != 3 or shapes.shape[0] == 0:
        raise ValueError("shapes must be a non-empty tensor of shape (n, H, W)")
    if not torch.isfinite(shapes).all():
        raise ValueError("shapes must hold only finite numbers (no NaN or inf)")
    if not isinstance(colours, torch.Tensor) or colours.shape != shapes.shape[:1]:
        raise ValueError(f"colours must be a tensor of shape ({shapes.shape[0]},), one index per shape")
    if colours.is_floating_point() or colours.is_complex() or colours.dtype == torch.bool:
        raise ValueError(f"colours must hold integer indices into the palette, got dtype {colours.dtype}")
    if palette.ndim != 2 or palette.shape[1] != 3:
        raise ValueError(f"palette must have shape (k, 3), got {tuple(palette.shape)}")
    if len(colours) and (int(colours.min()) < 0 or int(colours.max()) >= len(palette)):
        raise ValueError(f"colours must index the palette's {len(palette)} colours")
    paint = palette[colours][:, :, None, None]
    s = shapes[:, None].clamp(0, 1)
    if where == "foreground":
        return s * paint
    return s + (1 - s) * paint
