r"""A tiny autoregressive transformer (in the spirit of minGPT) and the two scan orders of the chapter 6 lab.

The same grid of spatial image tokens can be read in **raster** order (row by row) or in a **dilated** order
(first the tokens on the stride-``size/2`` grid, then those new at each halved stride: a coarse-to-fine order of
*positions*). The tokens are the same in both orders; only the order in which a model predicts them changes. This
is not the multi-scale residual tokenizer of the chapter (whose tokens themselves code coarse and fine detail):
a dilated prefix covers the whole image sparsely and decodes to a whole, blocky image when each missing token
copies its nearest kept one (:func:`fill_prefix`); a raster prefix is the top of the image.

Because only the order changes, an ideal model gives every grid the same joint probability in both orders (the
chain rule holds in any order): a difference in held-out perplexity between the orders measures how easily a
finite model learns each factorisation, not how much information the tokens carry.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
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
        """``(B, T, dim)`` to ``(B, T, dim)``. Values are not checked for NaN: that would cost a device sync at
        every step."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating-point torch.Tensor, got {getattr(x, 'dtype', type(x).__name__)}")
        if x.ndim != 3 or x.shape[-1] != self.ln1.normalized_shape[0] or x.numel() == 0:
            raise ValueError(f"x must be a non-empty (B, T, {self.ln1.normalized_shape[0]}) tensor, "
                             f"got {tuple(x.shape)}")
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
        self.vocab = check_positive_int(vocab, "vocab", minimum=2)
        self.length = check_positive_int(length, "length")
        dim, heads = check_positive_int(dim, "dim"), check_positive_int(heads, "heads")
        layers = check_positive_int(layers, "layers")
        if dim % heads:
            raise ValueError(f"dim must be a multiple of heads, got dim = {dim}, heads = {heads}")
        self.tok = nn.Embedding(vocab + 1, dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, length, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits for each position given the tokens before it, ``(B, T, vocab)`` (token ids in ``[0, vocab)``;
        :func:`train_gpt` and :func:`perplexity` check the range, which would cost a device sync here)."""
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor of token ids, got {type(tokens).__name__}")
        if tokens.ndim != 2 or tokens.shape[1] > self.length or tokens.numel() == 0:
            raise ValueError(f"tokens must be a non-empty (B, T) tensor with T <= {self.length}, "
                             f"got {tuple(tokens.shape)}")
        if tokens.is_floating_point() or tokens.dtype == torch.bool:
            raise TypeError(f"tokens must hold integer token ids, got {tokens.dtype}")
        begin = torch.full_like(tokens[:, :1], self.vocab)
        inputs = torch.cat([begin, tokens[:, :-1]], dim=1)
        x = self.tok(inputs) + self.pos[:, : tokens.shape[1]]
        return self.head(self.ln(self.blocks(x)))


def _check_sequences(sequences: torch.Tensor, vocab: int, length: int | None = None) -> torch.Tensor:
    if not isinstance(sequences, torch.Tensor):
        raise TypeError(f"sequences must be a torch.Tensor of token ids, got {type(sequences).__name__}")
    if sequences.ndim != 2 or sequences.numel() == 0 or (length is not None and sequences.shape[1] > length):
        limit = f" with T <= {length}" if length is not None else ""
        raise ValueError(f"sequences must be a non-empty (N, T) tensor{limit}, got {tuple(sequences.shape)}")
    if sequences.is_floating_point() or sequences.dtype == torch.bool:
        raise TypeError(f"sequences must hold integer token ids, got {sequences.dtype}")
    if sequences.min() < 0 or sequences.max() >= vocab:
        raise ValueError(f"sequences: tokens must lie in [0, {vocab})")
    return sequences.long()


def gpt_loss(model: TinyGPT, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of ``batch`` ``(B, T)``: what :func:`train_gpt` minimises.

    Examples
    --------
    >>> bool(gpt_loss(TinyGPT(vocab=4, length=6), torch.zeros(2, 6, dtype=torch.long)) > 0)
    True
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    if not isinstance(batch, torch.Tensor) or batch.is_floating_point() or batch.dtype == torch.bool:
        raise TypeError(f"batch must be a tensor of integer token ids, got {getattr(batch, 'dtype', type(batch))}")
    if batch.ndim != 2 or batch.numel() == 0:
        raise ValueError(f"batch must be a non-empty (B, T) tensor, got {tuple(batch.shape)}")
    return F.cross_entropy(model(batch).reshape(-1, model.vocab), batch.reshape(-1))


def train_gpt(sequences: torch.Tensor, vocab: int, steps: int = 300, batch_size: int = 64, lr: float = 3e-3,
              dim: int = 64, layers: int = 2, heads: int = 4, seed: int = 0, device: torch.device | str = "cpu",
              progress: bool = True) -> TinyGPT:
    """Fit :class:`TinyGPT` to ``(N, T)`` token sequences by next-token cross-entropy (AdamW, ``steps``
    mini-batches of ``batch_size`` sequences drawn with replacement). The sequences are moved to ``device`` once.

    Examples
    --------
    >>> gpt = train_gpt(torch.randint(0, 8, (16, 12)), vocab=8, steps=2, progress=False)
    >>> isinstance(gpt, TinyGPT)
    True
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    vocab = check_positive_int(vocab, "vocab", minimum=2)
    sequences = _check_sequences(sequences, vocab)
    torch.manual_seed(seed)
    model = TinyGPT(vocab, sequences.shape[1], dim=dim, layers=layers, heads=heads).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    data = sequences.to(device)
    gen = torch.Generator(device=data.device).manual_seed(seed)
    for _ in runtime.progress(range(steps), "transformer", progress):
        batch = data[torch.randint(len(data), (min(batch_size, len(data)),), generator=gen, device=data.device)]
        loss = gpt_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.inference_mode()
def perplexity(model: TinyGPT, sequences: torch.Tensor, batch_size: int = 256) -> float:
    """:math:`\\exp` of the mean next-token cross-entropy (nats) on ``sequences``, ``batch_size`` at a time.

    The batch is small because attention holds ``batch_size x heads x T x T`` scores: at the lab's full size
    (256 tokens, 8 heads, float32) 4,096 sequences would need 8.6 GB, more than a free Colab GPU has; 256 need
    0.5 GB.

    Examples
    --------
    >>> gpt = TinyGPT(vocab=4, length=6)
    >>> 1.0 < perplexity(gpt, torch.randint(0, 4, (3, 6))) < 20
    True
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    sequences = _check_sequences(sequences, model.vocab, model.length)
    batch_size = check_positive_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    total = 0.0
    for part in sequences.split(batch_size):
        part = part.to(device)
        logits = model(part)
        total += float(F.cross_entropy(logits.reshape(-1, model.vocab), part.reshape(-1), reduction="sum"))
    return float(math.exp(total / sequences.numel()))


#: The scan orders :func:`scan_order` knows.
SCANS = ("raster", "dilated")


def scan_order(size: int, kind: str = "raster") -> np.ndarray:
    """Positions (flattened indices of a ``size x size`` grid) in reading order.

    ``"raster"``: row by row. ``"dilated"``: positions on the stride-``size/2`` grid first, then those new at
    each halved stride (row by row within a stride).

    Examples
    --------
    >>> scan_order(4, "dilated").tolist()[:4]
    [0, 2, 8, 10]
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be one of {SCANS}, got {type(kind).__name__}")
    if kind not in SCANS:
        raise ValueError(f"kind must be one of {SCANS}, got {kind!r}")
    size = check_positive_int(size, "size")
    if size & (size - 1):
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
    stride 2, 4, ... (a whole, blocky image for the dilated order).

    Examples
    --------
    >>> grid = torch.arange(16).view(1, 4, 4)
    >>> fill_prefix(grid, scan_order(4, "dilated"), 1).unique().tolist()
    [0]
    >>> fill_prefix(grid, scan_order(4), 4, blank=99)[0, 1].tolist()
    [99, 99, 99, 99]
    """
    if not isinstance(grid_tokens, torch.Tensor) or grid_tokens.ndim != 3 or grid_tokens.numel() == 0:
        raise ValueError("grid_tokens must be a non-empty (B, size, size) tensor of token ids")
    if grid_tokens.is_floating_point():
        raise TypeError(f"grid_tokens must hold integer token ids, got {grid_tokens.dtype}")
    b, h, w = grid_tokens.shape
    order = np.asarray(order)
    if h != w or order.ndim != 1 or sorted(order.tolist()) != list(range(h * w)):
        raise ValueError("grid_tokens must be (B, size, size) and order a permutation of its size * size positions")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
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
