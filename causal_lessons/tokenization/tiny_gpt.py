r"""A tiny autoregressive transformer (in the spirit of minGPT) and the two token orders of the chapter 6 lab.

The same grid of image tokens can be read in **raster** order (row by row) or in a **coarse-to-fine** order
(first the token at stride 4, then the new ones at stride 2, then the rest). A prefix of the coarse-to-fine scan
covers the whole image sparsely, so it decodes to a whole, coarser image (:func:`fill_prefix`); a raster prefix is
the top of the image.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int


class Block(nn.Module):
    """Pre-norm transformer block with causal self-attention: position ``t`` sees positions ``<= t`` only.

    Examples
    --------
    >>> block = Block(dim=8, heads=2).eval()
    >>> x = torch.randn(1, 5, 8)
    >>> y = x.clone(); y[:, 3:] = 0  # changing later positions leaves earlier outputs alone
    >>> bool(torch.allclose(block(x)[:, :3], block(y)[:, :3], atol=1e-6))
    True
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    """Token and position embeddings, ``layers`` causal blocks, a linear head; a begin token ``vocab`` is
    prepended so that the first real token is predicted too.

    Examples
    --------
    >>> gpt = TinyGPT(vocab=16, length=10)
    >>> gpt(torch.zeros(2, 10, dtype=torch.long)).shape
    torch.Size([2, 10, 16])
    """

    def __init__(self, vocab: int, length: int, dim: int = 64, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.vocab, self.length = vocab, length
        self.tok = nn.Embedding(vocab + 1, dim)
        self.pos = nn.Parameter(torch.zeros(1, length, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits for each position given the tokens before it, ``(B, T, vocab)``."""
        if tokens.ndim != 2 or tokens.shape[1] > self.length:
            raise ValueError(f"tokens must be (B, T) with T <= {self.length}, got {tuple(tokens.shape)}")
        begin = torch.full_like(tokens[:, :1], self.vocab)
        inputs = torch.cat([begin, tokens[:, :-1]], dim=1)
        x = self.tok(inputs) + self.pos[:, : tokens.shape[1]]
        return self.head(self.ln(self.blocks(x)))


def train_gpt(sequences: torch.Tensor, vocab: int, steps: int = 300, batch_size: int = 64, lr: float = 3e-3,
              dim: int = 64, layers: int = 2, seed: int = 0, device: torch.device | str = "cpu",
              progress: bool = True) -> TinyGPT:
    """Fit :class:`TinyGPT` to ``(N, T)`` token sequences by next-token cross-entropy.

    Examples
    --------
    >>> gpt = train_gpt(torch.randint(0, 8, (16, 12)), vocab=8, steps=2, progress=False)
    >>> isinstance(gpt, TinyGPT)
    True
    """
    steps = check_positive_int(steps, "steps")
    if sequences.ndim != 2 or len(sequences) == 0:
        raise ValueError(f"sequences must be a non-empty (N, T) tensor, got {tuple(sequences.shape)}")
    if sequences.min() < 0 or sequences.max() >= vocab:
        raise ValueError(f"tokens must lie in [0, {vocab})")
    torch.manual_seed(seed)
    model = TinyGPT(vocab, sequences.shape[1], dim=dim, layers=layers).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    data = sequences.to(device)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="transformer", disable=not progress):
        batch = data[torch.randint(len(data), (min(batch_size, len(data)),), generator=gen).to(device)]
        loss = F.cross_entropy(model(batch).reshape(-1, vocab), batch.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def perplexity(model: TinyGPT, sequences: torch.Tensor) -> float:
    """:math:`\\exp` of the mean next-token cross-entropy (nats) on ``sequences``.

    Examples
    --------
    >>> gpt = TinyGPT(vocab=4, length=6)
    >>> 1.0 < perplexity(gpt, torch.randint(0, 4, (3, 6))) < 20
    True
    """
    device = next(model.parameters()).device
    logits = model(sequences.to(device))
    loss = F.cross_entropy(logits.reshape(-1, model.vocab), sequences.to(device).reshape(-1))
    return float(math.exp(loss))


def scan_order(size: int, kind: str = "raster") -> np.ndarray:
    """Positions (flattened indices of a ``size x size`` grid) in reading order.

    ``"coarse_to_fine"``: positions on the stride-``size/2`` grid first, then those new at each halved stride.

    Examples
    --------
    >>> scan_order(4, "coarse_to_fine").tolist()[:4]
    [0, 2, 8, 10]
    """
    if kind not in ("raster", "coarse_to_fine"):
        raise ValueError(f"kind must be 'raster' or 'coarse_to_fine', got {kind!r}")
    if size < 1 or size & (size - 1):
        raise ValueError(f"size must be a power of two, got {size}")
    if kind == "raster":
        return np.arange(size * size)
    rows, cols = np.divmod(np.arange(size * size), size)
    top = int(math.log2(size))

    def level(i: np.ndarray) -> np.ndarray:
        # 0 for index 0 (a multiple of every stride), else log2(size) minus the number of trailing zero bits.
        zeros = np.array([top if v == 0 else (int(v) & -int(v)).bit_length() - 1 for v in i])
        return top - np.minimum(zeros, top)

    keys = np.maximum(level(rows), level(cols))
    return np.lexsort((np.arange(size * size), keys))


def fill_prefix(grid_tokens: torch.Tensor, order: np.ndarray, n: int, blank: int | None = None) -> torch.Tensor:
    """Keep the tokens at the first ``n`` positions of ``order``; every other position gets ``blank`` if given (a
    partial image), else copies the nearest kept position on a coarser grid: the top-left corner of its cell at
    stride 2, 4, ... (a whole, coarser image for the coarse-to-fine order).

    Examples
    --------
    >>> grid = torch.arange(16).view(1, 4, 4)
    >>> fill_prefix(grid, scan_order(4, "coarse_to_fine"), 1).unique().tolist()
    [0]
    >>> fill_prefix(grid, scan_order(4), 4, blank=99)[0, 1].tolist()
    [99, 99, 99, 99]
    """
    b, h, w = grid_tokens.shape
    if h != w or sorted(order.tolist()) != list(range(h * w)):
        raise ValueError("grid_tokens must be (B, size, size) and order a permutation of its size * size positions")
    if not 1 <= n <= h * w:
        raise ValueError(f"n must lie in [1, {h * w}], got {n}")
    flat = grid_tokens.reshape(b, -1)
    known = np.zeros(h * w, dtype=bool)
    known[order[:n]] = True
    if blank is not None:
        out = flat.clone()
        out[:, torch.as_tensor(~known)] = blank
        return out.reshape(b, h, w)
    source = np.arange(h * w)
    for pos in np.flatnonzero(~known):
        r, c = divmod(int(pos), w)
        stride = 2
        while stride <= h and not known[(r - r % stride) * w + (c - c % stride)]:
            stride *= 2
        source[pos] = (r - r % stride) * w + (c - c % stride) if stride <= h else order[0]
    return flat[:, torch.as_tensor(source)].reshape(b, h, w)
