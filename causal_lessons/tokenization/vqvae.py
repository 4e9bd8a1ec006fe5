r"""A small VQ-VAE (van den Oord et al., 2017): an encoder to an :math:`8 \times 8` grid of vectors, each replaced
by its nearest codebook entry, and a decoder back to pixels. Gradients pass the quantiser straight through:
:math:`z_q = z + \operatorname{sg}(e_k - z)`; the loss adds :math:`\lVert \operatorname{sg}(z) - e_k\rVert^2 +
\beta \lVert z - \operatorname{sg}(e_k)\rVert^2`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantisation of ``(B, d, h, w)`` with a straight-through gradient.

    Examples
    --------
    >>> vq = VectorQuantizer(k=16, dim=4)
    >>> zq, idx, loss = vq(torch.randn(2, 4, 3, 3))
    >>> zq.shape, idx.shape, bool(loss >= 0)
    (torch.Size([2, 4, 3, 3]), torch.Size([2, 3, 3]), True)
    """

    def __init__(self, k: int, dim: int, beta: float = 0.25) -> None:
        super().__init__()
        self.codebook = nn.Embedding(k, dim)
        self.codebook.weight.data.uniform_(-1 / k, 1 / k)
        self.beta = beta

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        dist = (flat**2).sum(1, keepdim=True) - 2 * flat @ self.codebook.weight.T + (self.codebook.weight**2).sum(1)
        return dist.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        return self.codebook(idx).permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = self.indices(z)
        e = self.lookup(idx)
        loss = F.mse_loss(e, z.detach()) + self.beta * F.mse_loss(z, e.detach())
        return z + (e - z).detach(), idx, loss


class VQVAE(nn.Module):
    """``(B, 1, 32, 32)`` images to an ``(B, 8, 8)`` grid of tokens in ``[0, k)`` and back.

    Examples
    --------
    >>> model = VQVAE(k=32)
    >>> tokens = model.encode(torch.rand(2, 1, 32, 32))
    >>> tokens.shape, model.decode(tokens).shape
    (torch.Size([2, 8, 8]), torch.Size([2, 1, 32, 32]))
    """

    def __init__(self, k: int = 64, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.k = k
        self.encoder = nn.Sequential(nn.Conv2d(1, hidden, 4, 2, 1), nn.ReLU(), nn.Conv2d(hidden, hidden, 4, 2, 1),
                                     nn.ReLU(), nn.Conv2d(hidden, dim, 1))
        self.quantizer = VectorQuantizer(k, dim)
        self.decoder = nn.Sequential(nn.Conv2d(dim, hidden, 3, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(hidden, hidden, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(hidden, 1, 4, 2, 1))

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"x must have shape (B, 1, H, W) with H and W multiples of 4, got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(x)
        zq, _, vq_loss = self.quantizer(self.encoder(x))
        return self.decoder(zq), vq_loss

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Token grid ``(B, H / 4, W / 4)``."""
        self._check(x)
        return self.quantizer.indices(self.encoder(x))

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Images from a token grid."""
        if tokens.ndim != 3 or tokens.min() < 0 or tokens.max() >= self.k:
            raise ValueError(f"tokens must be a (B, h, w) grid of integers in [0, {self.k})")
        return self.decoder(self.quantizer.lookup(tokens))


def train_vqvae(images: torch.Tensor, k: int = 64, steps: int = 500, batch_size: int = 64, lr: float = 2e-3,
                seed: int = 0, device: torch.device | str = "cpu", progress: bool = True) -> VQVAE:
    """Train a :class:`VQVAE` on ``(N, 1, H, W)`` images (reconstruction MSE plus the VQ loss).

    Examples
    --------
    >>> model = train_vqvae(torch.rand(8, 1, 32, 32), k=8, steps=2, progress=False)
    >>> model.encode(torch.rand(1, 1, 32, 32)).shape
    torch.Size([1, 8, 8])
    """
    steps = check_positive_int(steps, "steps")
    torch.manual_seed(seed)
    model = VQVAE(k).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    images = images.to(device)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="VQ-VAE", disable=not progress):
        batch = images[torch.randint(len(images), (min(batch_size, len(images)),), generator=gen).to(device)]
        recon, vq_loss = model(batch)
        loss = F.mse_loss(recon, batch) + vq_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
