r"""A small VQ-VAE (van den Oord et al., 2017): an encoder to an :math:`h \times w` grid of vectors (a quarter of
the image side), each replaced by its nearest codebook entry, and a decoder back to pixels. Gradients pass the
quantiser straight through: :math:`z_q = z + \operatorname{sg}(e_k - z)`; the loss adds
:math:`\lVert \operatorname{sg}(z) - e_k\rVert^2 + \beta \lVert z - \operatorname{sg}(e_k)\rVert^2`.

**Codebook collapse.** Trained this way from a random codebook, many entries are never the nearest to any
encoder output, get no gradient and stay unused (half of 64 codes in an earlier version of the lab). Two standard
remedies are used: the codebook starts from encoder outputs of the first batch (a random sample of them, so
every code starts where the data are), and every ``restart_every`` steps each code that no encoder output chose
since the last check is moved to a random encoder output of the current batch (a *dead-code restart*). Restarts
stop after a share ``restart_until`` of the steps, so that the last codes moved have time to settle.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int


def _check_tensor(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def _check_images(x: torch.Tensor, name: str) -> torch.Tensor:
    x = _check_tensor(x, name)
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[0] == 0 or x.shape[-1] % 4 or x.shape[-2] % 4:
        raise ValueError(f"{name} must have shape (B, 1, H, W) with B >= 1 and H and W multiples of 4, "
                         f"got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floating-point grey levels, got {x.dtype}")
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must hold only finite grey levels (no NaN or inf)")
    return x


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantisation of ``(B, d, h, w)`` with a straight-through gradient. Values are not checked
    for NaN, which would cost a device sync at every training step; :class:`VQVAE` checks its images.

    Examples
    --------
    >>> vq = VectorQuantizer(k=16, dim=4)
    >>> zq, idx, loss = vq(torch.randn(2, 4, 3, 3))
    >>> zq.shape, idx.shape, bool(loss >= 0)
    (torch.Size([2, 4, 3, 3]), torch.Size([2, 3, 3]), True)
    """

    def __init__(self, k: int, dim: int, beta: float = 0.25) -> None:
        super().__init__()
        k, dim = check_positive_int(k, "k", minimum=2), check_positive_int(dim, "dim")
        self.codebook = nn.Embedding(k, dim)
        self.codebook.weight.data.uniform_(-1 / k, 1 / k)
        self.beta = beta

    def _check(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_tensor(z, "z")
        if z.ndim != 4 or z.shape[1] != self.codebook.weight.shape[1] or z.shape[0] == 0:
            raise ValueError(f"z must have shape (B, {self.codebook.weight.shape[1]}, h, w) with B >= 1, "
                             f"got {tuple(z.shape)}")
        return z

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """The index of the nearest codebook entry at each position, ``(B, h, w)``."""
        z = self._check(z)
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        dist = (flat**2).sum(1, keepdim=True) - 2 * flat @ self.codebook.weight.T + (self.codebook.weight**2).sum(1)
        return dist.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """The codebook vectors of an index grid, ``(B, d, h, w)``."""
        return self.codebook(idx).permute(0, 3, 1, 2)

    @torch.no_grad()
    def reset(self, codes: torch.Tensor, z: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Move the codebook entries ``codes`` to encoder outputs drawn at random from ``z`` ``(B, d, h, w)``."""
        flat = self._check(z).permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        pick = torch.randint(len(flat), (len(codes),), generator=generator, device=z.device)
        self.codebook.weight.data[codes] = flat[pick]

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = self.indices(z)
        e = self.lookup(idx)
        loss = F.mse_loss(e, z.detach()) + self.beta * F.mse_loss(z, e.detach())
        return z + (e - z).detach(), idx, loss


class VQVAE(nn.Module):
    """``(B, 1, H, W)`` images (``H``, ``W`` multiples of 4) to an ``(B, H / 4, W / 4)`` grid of tokens in
    ``[0, k)`` and back.

    Examples
    --------
    >>> model = VQVAE(k=32)
    >>> tokens = model.encode(torch.rand(2, 1, 32, 32))
    >>> tokens.shape, model.decode(tokens).shape
    (torch.Size([2, 8, 8]), torch.Size([2, 1, 32, 32]))
    """

    def __init__(self, k: int = 64, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.k = check_positive_int(k, "k", minimum=2)
        dim, hidden = check_positive_int(dim, "dim"), check_positive_int(hidden, "hidden")
        self.encoder = nn.Sequential(nn.Conv2d(1, hidden, 4, 2, 1), nn.ReLU(), nn.Conv2d(hidden, hidden, 4, 2, 1),
                                     nn.ReLU(), nn.Conv2d(hidden, dim, 1))
        self.quantizer = VectorQuantizer(k, dim)
        self.decoder = nn.Sequential(nn.Conv2d(dim, hidden, 3, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(hidden, hidden, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(hidden, 1, 4, 2, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reconstruction and the quantiser's loss."""
        zq, _, vq_loss = self.quantizer(self.encoder(_check_images(x, "x")))
        return self.decoder(zq), vq_loss

    @torch.no_grad()
    def encode(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Token grid ``(B, H / 4, W / 4)``, computed ``batch_size`` images at a time."""
        x = _check_images(x, "x")
        batch_size = check_positive_int(batch_size, "batch_size")
        return torch.cat([self.quantizer.indices(self.encoder(part)) for part in x.split(batch_size)])

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Images from a token grid ``(B, h, w)``."""
        tokens = _check_tensor(tokens, "tokens")
        if tokens.ndim != 3 or tokens.numel() == 0 or tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"tokens must be a non-empty (B, h, w) grid of integers, got {tuple(tokens.shape)} "
                             f"{tokens.dtype}")
        if tokens.min() < 0 or tokens.max() >= self.k:
            raise ValueError(f"tokens must be a (B, h, w) grid of integers in [0, {self.k})")
        return self.decoder(self.quantizer.lookup(tokens.long()))


def vqvae_loss(model: VQVAE, batch: torch.Tensor) -> torch.Tensor:
    """Reconstruction MSE plus the quantiser's loss: what :func:`train_vqvae` minimises.

    Examples
    --------
    >>> bool(vqvae_loss(VQVAE(k=8), torch.rand(2, 1, 8, 8)) > 0)
    True
    """
    if not isinstance(model, VQVAE):
        raise TypeError(f"model must be a VQVAE, got {type(model).__name__}")
    recon, vq_loss = model(_check_images(batch, "batch"))
    return F.mse_loss(recon, batch) + vq_loss


def train_vqvae(images: torch.Tensor, k: int = 64, steps: int = 500, batch_size: int = 64, lr: float = 2e-3,
                seed: int = 0, device: torch.device | str = "cpu", progress: bool = True,
                restart_every: int = 10, restart_until: float = 0.8) -> VQVAE:
    """Train a :class:`VQVAE` on ``(N, 1, H, W)`` images (:func:`vqvae_loss`), with the codebook initialised from
    encoder outputs and dead-code restarts every ``restart_every`` steps during the first ``restart_until`` share
    of the steps (module docstring).

    ``images`` are moved to ``device`` once; batches are drawn there.

    Examples
    --------
    >>> model = train_vqvae(torch.rand(8, 1, 32, 32), k=8, steps=2, progress=False)
    >>> model.encode(torch.rand(1, 1, 32, 32)).shape
    torch.Size([1, 8, 8])
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    restart_every = check_positive_int(restart_every, "restart_every")
    if isinstance(restart_until, bool) or not isinstance(restart_until, (int, float)) or not 0 <= restart_until <= 1:
        raise ValueError(f"restart_until must be a share of the steps in [0, 1], got {restart_until!r}")
    images = _check_images(images, "images")
    torch.manual_seed(seed)
    model = VQVAE(k).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = images.to(device)
    gen = torch.Generator(device=data.device).manual_seed(seed)
    used = torch.zeros(k, dtype=torch.bool, device=data.device)
    for step in runtime.progress(range(steps), "VQ-VAE", progress):
        batch = data[torch.randint(len(data), (min(batch_size, len(data)),), generator=gen, device=data.device)]
        if step == 0:
            with torch.no_grad():
                model.quantizer.reset(torch.arange(k, device=data.device), model.encoder(batch), gen)
        z = model.encoder(batch)
        zq, idx, vq_loss = model.quantizer(z)
        loss = F.mse_loss(model.decoder(zq), batch) + vq_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        used[idx.unique()] = True
        if (step + 1) % restart_every == 0 and step + 1 <= restart_until * steps:
            dead = torch.nonzero(~used).flatten()
            if len(dead):
                model.quantizer.reset(dead, z.detach(), gen)
            used.zero_()
    return model.eval()
