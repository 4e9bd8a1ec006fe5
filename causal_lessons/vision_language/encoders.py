r"""The toy CLIP's encoders: a small CNN for images and two text encoders, one blind to word order.

- :class:`ImageEncoder`: two 3 x 3 convolutions with max pooling, then a linear map of the *flattened* feature
  map, so the position of each object (left or right) survives.
- :class:`BagOfWords`: the mean of the caption's word embeddings, then a two-layer MLP,

  .. math::
      f(w_1, \dots, w_L) = \mathrm{MLP}\big(\tfrac1L \textstyle\sum_l E[w_l]\big).

  The mean forgets word order: two
  captions with the same words in another order get the same embedding.
- :class:`OrderAware`: a GRU reads the words left to right; its last hidden state, linearly mapped, is the
  caption's embedding.

:func:`text_encoder` builds either at a matched parameter count (the bag of words' MLP is sized to the GRU's
parameters), and :class:`ToyCLIP` joins an image and a text encoder with CLIP's learnable temperature.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int

KINDS = ("bag_of_words", "order_aware")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of a module.

    Examples
    --------
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _check_lengths(x: torch.Tensor, lengths: torch.Tensor) -> None:
    if not isinstance(lengths, torch.Tensor) or lengths.dtype != torch.long or lengths.shape != x.shape[:1]:
        raise ValueError(f"lengths must be a LongTensor of shape ({x.shape[0]},), one length per caption")
    if lengths.is_meta:  # FLOP counting on the meta device: shapes only, no values to check
        return
    if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]):
        raise ValueError(f"lengths must lie between 1 and {x.shape[1]}")


def _check_ids(ids: torch.Tensor, vocab_size: int) -> None:
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2 or not ids.numel():
        raise ValueError("ids must be a non-empty LongTensor of shape (N, L) (from WordTokenizer.encode)")
    if not ids.is_meta and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"ids must lie in [0, {vocab_size})")


class ImageEncoder(nn.Module):
    """Conv(3 -> w) -> ReLU -> max-pool -> Conv(w -> 2w) -> ReLU -> max-pool -> flatten -> Linear(dim).

    Examples
    --------
    >>> ImageEncoder(16, width=8, dim=32)(torch.zeros(5, 3, 16, 16)).shape
    torch.Size([5, 32])
    """

    def __init__(self, size: int, width: int = 8, dim: int = 32) -> None:
        super().__init__()
        size = check_positive_int(size, "size", minimum=4)
        if size % 4:
            raise ValueError(f"size must be a multiple of 4 (two 2 x 2 poolings), got {size}")
        width = check_positive_int(width, "width")
        dim = check_positive_int(dim, "dim")
        self.size = size
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, dim),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.shape[1:] != (3, self.size, self.size):
            raise ValueError(f"images must be a tensor of shape (N, 3, {self.size}, {self.size})")
        return self.net(images)


class BagOfWords(nn.Module):
    r"""Mean of word embeddings, then an MLP: :math:`\mathrm{MLP}(\frac1L \sum_l E[w_l])`.

    Examples
    --------
    >>> enc = BagOfWords(vocab_size=10, embed=4, hidden=8, dim=6)
    >>> ids, lengths = torch.tensor([[1, 2, 3], [3, 2, 1]]), torch.tensor([3, 3])
    >>> out = enc(ids, lengths)
    >>> out.shape, bool(torch.equal(out[0], out[1]))  # the same words in another order: the same vector
    (torch.Size([2, 6]), True)
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(check_positive_int(vocab_size, "vocab_size", minimum=2),
                                  check_positive_int(embed, "embed"), padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(embed, check_positive_int(hidden, "hidden")), nn.ReLU(),
                                 nn.Linear(hidden, check_positive_int(dim, "dim")))

    def from_embeddings(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode already-embedded words ``x`` of shape ``(N, L, embed)`` (prompt tuning feeds its context
        vectors this way)."""
        _check_lengths(x, lengths)
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).to(x.dtype)
        # Sum, then divide: each word counts once whatever its position, which is the tie of the chapter.
        mean = (x * mask[..., None]).sum(1) / lengths[:, None].to(x.dtype)
        return self.mlp(mean)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _check_ids(ids, self.embed.num_embeddings)
        _check_lengths(ids, lengths)
        # Word counts times the embedding table: the sum runs over the vocabulary, not over positions, so
        # two orders of the same words give bit-for-bit the same vector (a sum over positions would round
        # differently and break the tie by floating-point noise).
        counts = F.one_hot(ids, self.embed.num_embeddings).sum(1).to(self.embed.weight.dtype)
        counts[:, 0] = 0
        return self.mlp(counts @ self.embed.weight / lengths[:, None].to(counts.dtype))


class OrderAware(nn.Module):
    """A GRU over the word embeddings; the hidden state after the last word, linearly mapped.

    Examples
    --------
    >>> enc = OrderAware(vocab_size=10, embed=4, hidden=8, dim=6)
    >>> out = enc(torch.tensor([[1, 2, 3], [3, 2, 1]]), torch.tensor([3, 3]))
    >>> out.shape, bool(torch.equal(out[0], out[1]))
    (torch.Size([2, 6]), False)
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(check_positive_int(vocab_size, "vocab_size", minimum=2),
                                  check_positive_int(embed, "embed"), padding_idx=0)
        self.gru = nn.GRU(embed, check_positive_int(hidden, "hidden"), batch_first=True)
        self.out = nn.Linear(hidden, check_positive_int(dim, "dim"))

    def from_embeddings(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode already-embedded words ``x`` of shape ``(N, L, embed)``."""
        _check_lengths(x, lengths)
        states, _ = self.gru(x)
        # The state after each caption's own last word: padding after it is never read.
        last = states[torch.arange(len(x), device=x.device), lengths - 1]
        return self.out(last)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _check_ids(ids, self.embed.num_embeddings)
        return self.from_embeddings(self.embed(ids), lengths)


def text_encoder(kind: str, vocab_size: int, embed: int = 16, hidden: int = 32, dim: int = 32) -> nn.Module:
    r"""A text encoder of either kind, at matched parameter counts.

    The order-aware encoder has a GRU of ``hidden`` units. The bag of words gets the same embedding table and an
    MLP whose hidden width :math:`H` makes its parameter count closest to the GRU encoder's:
    :math:`eH + H + Hd + d \approx 3(eh + h^2 + 2h) + hd + d` (PyTorch's GRU has two bias vectors per gate).

    Parameters
    ----------
    kind
        ``"bag_of_words"`` or ``"order_aware"``.
    vocab_size, embed, hidden, dim
        Vocabulary size (with padding), embedding width, GRU width, output width.

    Examples
    --------
    >>> bow, gru = text_encoder("bag_of_words", 20), text_encoder("order_aware", 20)
    >>> abs(count_parameters(bow) - count_parameters(gru)) / count_parameters(gru) < 0.02
    True
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    gru = OrderAware(vocab_size, embed, hidden, dim)
    if kind == "order_aware":
        return gru
    target = count_parameters(gru) - vocab_size * embed
    width = max(1, round((target - dim) / (embed + 1 + dim)))
    return BagOfWords(vocab_size, embed, width, dim)


class ToyCLIP(nn.Module):
    r"""An image encoder and a text encoder whose unit-length outputs are compared by a scaled dot product.

    ``forward`` returns the logits :math:`\ell_{ti} = e^{\tau} \langle \hat t, \hat v_i \rangle` of every caption
    ``t`` against every image ``i`` (caption rows, image columns), with the log-scale :math:`\tau` learned and
    capped at :math:`\log 100`, as CLIP does.

    Examples
    --------
    >>> model = ToyCLIP(ImageEncoder(16), text_encoder("order_aware", 12))
    >>> ids, lengths = torch.tensor([[1, 2], [2, 1], [3, 3]]), torch.tensor([2, 2, 1])
    >>> model(torch.zeros(3, 3, 16, 16), ids, lengths).shape
    torch.Size([3, 3])
    >>> round(float(model.logit_scale().detach()), 2)  # exp(log(1 / 0.07))
    14.29
    """

    def __init__(self, image: ImageEncoder, text: nn.Module, temperature: float = 0.07) -> None:
        super().__init__()
        if not isinstance(image, ImageEncoder):
            raise TypeError(f"image must be an ImageEncoder, got {type(image).__name__}")
        if not isinstance(text, (BagOfWords, OrderAware)):
            raise TypeError(f"text must be a BagOfWords or OrderAware encoder, got {type(text).__name__}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or \
                not 0 < temperature < 1 or not math.isfinite(temperature):
            raise ValueError(f"temperature must be a number in (0, 1), got {temperature!r}")
        self.image, self.text = image, text
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / temperature)))

    def logit_scale(self) -> torch.Tensor:
        """:math:`e^\\tau`, at most 100."""
        return self.log_scale.clamp(max=math.log(100)).exp()

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-length image embeddings."""
        return F.normalize(self.image(images), dim=-1)

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unit-length caption embeddings."""
        return F.normalize(self.text(ids, lengths), dim=-1)

    def forward(self, images: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.logit_scale() * self.encode_text(ids, lengths) @ self.encode_image(images).T
