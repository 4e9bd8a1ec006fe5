r"""The world of chapter 5: two coloured shapes in a relation, their captions and their images.

A *scene* is a triple :math:`(A, r, B)`, read "A r B": "a red circle left of a blue square". Objects are
(colour, shape) pairs; relations come in inverse pairs (left of / right of, above / below), so one arrangement
of pixels has two true captions, "A left of B" and "B right of A". Images are small RGB arrays (16 x 16 at the
quick size) drawn without any download.

Word-order swaps are what the chapter tests. Two captions make a *swap pair* when they hold the same words in
another order:

- **objects**: "A r B" and "B r A" (the same two objects trade places);
- **attributes**: "a red circle r a blue square" and "a blue circle r a red square" (the colours trade shapes).

A *family* is a pair of colours with a pair of shapes, :math:`(\{c_1, c_2\}, \{s_1, s_2\})`: every swap pair
lies inside one family. Whole families are held out of training, so every swap pair the chapter scores is made
of object combinations the model has never seen together.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from .._checks import check_positive_int

#: RGB of each colour word, in the order worlds use them.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.9, 0.1, 0.1),
    "green": (0.1, 0.75, 0.15),
    "blue": (0.2, 0.35, 1.0),
    "yellow": (0.95, 0.85, 0.1),
    "magenta": (0.85, 0.2, 0.85),
    "cyan": (0.1, 0.85, 0.85),
}
#: Shape words, in the order worlds use them.
SHAPES = ("circle", "square", "triangle", "cross", "diamond")
#: Relation phrases: two horizontal, then two vertical.
RELATIONS = ("left of", "right of", "above", "below")
#: "A r B" shows the same pixels as "B INVERSE[r] A".
INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
#: Grey level of the background.
BACKGROUND = 0.12
#: How a picture of a single object is captioned: "a picture of a red circle" (the hand-written prompt of
#: prompt tuning, like CLIP's "a photo of a").
OBJECT_PROMPT = "a picture of a"
#: The words of the visual questions of the VQA section ("what colour is the circle").
QUESTION_WORDS = ("what", "colour", "is", "the")

Object = tuple[str, str]


class Scene(NamedTuple):
    """Object ``a`` in ``relation`` to object ``b`` ("a red circle left of a blue square").

    Examples
    --------
    >>> s = Scene(("red", "circle"), "left of", ("blue", "square"))
    >>> s.caption()
    'a red circle left of a blue square'
    >>> s.inverse().caption()
    'a blue square right of a red circle'
    """

    a: Object
    relation: str
    b: Object

    def caption(self) -> str:
        """The scene in words."""
        return f"a {self.a[0]} {self.a[1]} {self.relation} a {self.b[0]} {self.b[1]}"

    def inverse(self) -> "Scene":
        """The same arrangement described from the other object."""
        return Scene(self.b, INVERSE[self.relation], self.a)


@dataclass(frozen=True)
class World:
    """Which colours, shapes and relations exist, how large images are, and which families are held out.

    Attributes
    ----------
    n_colours, n_shapes
        The first ``n_colours`` of :data:`COLOURS` and ``n_shapes`` of :data:`SHAPES`.
    n_relations
        2 (left of, right of) or 4 (and above, below).
    size
        Images are ``size x size`` RGB.
    held_out
        How many families (colour pair x shape pair) never appear in training.
    seed
        Chooses the held-out families.

    Examples
    --------
    >>> w = World()
    >>> len(w.objects), len(w.families), len(w.test_families), w.object_size
    (12, 18, 4, 5)
    >>> len(w.train_scenes)
    116
    """

    n_colours: int = 4
    n_shapes: int = 3
    n_relations: int = 2
    size: int = 16
    held_out: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        for name, low, high in (("n_colours", 2, len(COLOURS)), ("n_shapes", 2, len(SHAPES)),
                                ("size", 12, 128)):
            value = check_positive_int(getattr(self, name), name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        if self.n_relations not in (2, 4):
            raise ValueError(f"n_relations must be 2 or 4, got {self.n_relations!r}")
        check_positive_int(self.seed, "seed", minimum=0)
        n_families = len(self._all_families())
        held = check_positive_int(self.held_out, "held_out")
        if held >= n_families:
            raise ValueError(f"held_out must be below the number of families ({n_families}), got {held}")

    @property
    def colours(self) -> tuple[str, ...]:
        return tuple(COLOURS)[: self.n_colours]

    @property
    def shapes(self) -> tuple[str, ...]:
        return SHAPES[: self.n_shapes]

    @property
    def relations(self) -> tuple[str, ...]:
        return RELATIONS[: self.n_relations]

    @property
    def objects(self) -> list[Object]:
        """Every (colour, shape) object."""
        return list(itertools.product(self.colours, self.shapes))

    @property
    def object_size(self) -> int:
        """Side of an object's square in pixels (5 at 16 x 16)."""
        return max(4, round(self.size * 5 / 16))

    def _all_families(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        # Each pair sorted by name, as family_of sorts it.
        return list(itertools.product((tuple(sorted(c)) for c in itertools.combinations(self.colours, 2)),
                                      [tuple(sorted(s)) for s in itertools.combinations(self.shapes, 2)]))

    @property
    def families(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        """Every (colour pair, shape pair)."""
        return self._all_families()

    @property
    def test_families(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        """The held-out families, chosen by ``seed``."""
        order = np.random.default_rng(self.seed).permutation(len(self.families))
        return [self.families[i] for i in sorted(order[: self.held_out])]

    @property
    def train_families(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        held = set(self.test_families)
        return [f for f in self.families if f not in held]

    @property
    def train_scenes(self) -> list[Scene]:
        """Every arrangement the model trains on, one caption each (left of / above): all ordered pairs of
        distinct objects except those of held-out families."""
        held = set(self.test_families)
        axes = ("left of",) if self.n_relations == 2 else ("left of", "above")
        return [Scene(a, rel, b) for a, b in itertools.permutations(self.objects, 2)
                if family_of(a, b) not in held for rel in axes]

    def vocabulary(self) -> list[str]:
        """Every word of the world's captions and questions."""
        words = {"a", *OBJECT_PROMPT.split(), *self.colours, *self.shapes, *QUESTION_WORDS}
        words |= {w for rel in self.relations for w in rel.split()}
        return sorted(words)


def object_caption(obj: Object) -> str:
    """The caption of a picture of one object.

    Examples
    --------
    >>> object_caption(("red", "circle"))
    'a picture of a red circle'
    """
    if not (isinstance(obj, tuple) and len(obj) == 2 and all(isinstance(w, str) for w in obj)):
        raise TypeError(f"obj must be a (colour, shape) tuple of words, got {obj!r}")
    return f"{OBJECT_PROMPT} {obj[0]} {obj[1]}"


def family_of(a: Object, b: Object) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The family of two objects: their colours and their shapes, each sorted; ``None`` when the objects share a
    colour or a shape (no swap pair can be made of them).

    Examples
    --------
    >>> family_of(("red", "circle"), ("blue", "square"))
    (('blue', 'red'), ('circle', 'square'))
    >>> family_of(("red", "circle"), ("red", "square")) is None
    True
    """
    for name, obj in (("a", a), ("b", b)):
        if not (isinstance(obj, tuple) and len(obj) == 2 and all(isinstance(w, str) for w in obj)):
            raise TypeError(f"{name} must be a (colour, shape) tuple of words, got {obj!r}")
    if a[0] == b[0] or a[1] == b[1]:
        return None
    return tuple(sorted((a[0], b[0]))), tuple(sorted((a[1], b[1])))


class WordTokenizer:
    """Words to integer ids over a closed vocabulary; id 0 pads.

    Examples
    --------
    >>> tok = WordTokenizer(World().vocabulary())
    >>> ids, lengths = tok.encode(["a red circle left of a blue square", "a red circle"])
    >>> ids.shape, lengths.tolist()
    (torch.Size([2, 8]), [8, 3])
    >>> tok.decode(ids[1])
    'a red circle'
    """

    PAD = "<pad>"

    def __init__(self, words: Sequence[str]) -> None:
        if isinstance(words, str) or not all(isinstance(w, str) and w and " " not in w for w in words):
            raise TypeError("words must be a sequence of single words (strings without spaces)")
        if not words:
            raise ValueError("words must not be empty")
        self.words = [self.PAD, *sorted(set(words))]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids of shape ``(N, L)`` (padded with 0 on the right) and the lengths ``(N,)``."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of strings (a list of captions, not one string)")
        if not texts:
            raise ValueError("texts must not be empty")
        split = [t.split() for t in texts]
        unknown = sorted({w for words in split for w in words if w not in self.index})
        if unknown or any(not words for words in split):
            raise ValueError(f"texts must use only the vocabulary's words and not be empty; unknown: {unknown}")
        lengths = torch.tensor([len(words) for words in split])
        ids = torch.zeros(len(split), int(lengths.max()), dtype=torch.long)
        for i, words in enumerate(split):
            ids[i, : len(words)] = torch.tensor([self.index[w] for w in words])
        return ids, lengths

    def decode(self, ids: torch.Tensor) -> str:
        """The words of one row of ids, padding dropped."""
        return " ".join(self.words[i] for i in ids.tolist() if i != 0)


@functools.lru_cache(maxsize=None)
def _masks(k: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:k, 0:k].astype(float)
    c = (k - 1) / 2
    return {
        "circle": (yy - c) ** 2 + (xx - c) ** 2 <= (k / 2) ** 2,
        "square": np.ones((k, k), bool),
        "triangle": np.abs(xx - c) <= (yy + 1) / 2,
        "cross": (np.abs(xx - c) <= k / 6) | (np.abs(yy - c) <= k / 6),
        "diamond": np.abs(xx - c) + np.abs(yy - c) <= k / 2,
    }


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def _check_noise(noise: float, contrast: float) -> None:
    for name, v, low in (("noise", noise, 0.0), ("contrast", contrast, 1e-9)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not np.isfinite(v) or v < low:
            raise ValueError(f"{name} must be a finite number >= {low:g}, got {v!r}")


def _positions(relation: str, size: int, k: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Top-left corners (xa, ya, xb, yb) for "a relation b": apart along the relation's axis, overlapping
    along the other (so the relation is the only one that holds)."""
    first = int(rng.integers(0, size - 2 * k))
    second = int(rng.integers(first + k + 1, size - k + 1))
    across_a = int(rng.integers(0, size - k + 1))
    across_b = int(rng.integers(max(0, across_a - k + 1), min(size - k, across_a + k - 1) + 1))
    if relation in ("right of", "below"):
        first, second = second, first
    if relation in ("left of", "right of"):
        return first, across_a, second, across_b
    return across_a, first, across_b, second


def _paint(img: np.ndarray, obj: Object, x: int, y: int, k: int, contrast: float) -> None:
    colour = BACKGROUND + contrast * (np.array(COLOURS[obj[0]]) - BACKGROUND)
    mask = _masks(k)[obj[1]]
    img[:, y: y + k, x: x + k][:, mask] = colour[:, None]


def _check_scene(scene: object, world: World) -> Scene:
    if not isinstance(scene, Scene):
        raise TypeError(f"scenes must hold Scene triples, got {type(scene).__name__}")
    for obj in (scene.a, scene.b):
        if obj not in world.objects:
            raise ValueError(f"scenes must use the world's objects, got {obj!r}")
    if scene.relation not in world.relations:
        raise ValueError(f"scenes must use the world's relations {world.relations}, got {scene.relation!r}")
    return scene


def render(scenes: Sequence[Scene], world: World, rng: np.random.Generator, noise: float = 0.03,
           contrast: float = 1.0) -> torch.Tensor:
    """Images of scenes, shape ``(N, 3, size, size)``, values near [0, 1].

    Each object is a ``k x k`` mask (k = ``world.object_size``) painted in its colour at a random place that
    makes the relation true and no other relation of the world true; then Gaussian pixel noise.

    Parameters
    ----------
    scenes
        The scenes to draw.
    world
        Sizes and vocabulary.
    rng
        Draws positions and noise.
    noise
        Standard deviation of the pixel noise.
    contrast
        Colour contrast against the background (1: full colour; below 1 a washed-out domain).

    Examples
    --------
    >>> w = World()
    >>> img = render([Scene(("red", "circle"), "left of", ("blue", "square"))], w, np.random.default_rng(0))
    >>> img.shape, img.dtype
    (torch.Size([1, 3, 16, 16]), torch.float32)
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    if isinstance(scenes, (str, Scene)) or not isinstance(scenes, Sequence):
        raise TypeError("scenes must be a sequence of Scene triples")
    if not scenes:
        raise ValueError("scenes must not be empty")
    rng = _check_rng(rng)
    _check_noise(noise, contrast)
    k, size = world.object_size, world.size
    out = np.full((len(scenes), 3, size, size), BACKGROUND, dtype=np.float32)
    for i, scene in enumerate(scenes):
        scene = _check_scene(scene, world)
        xa, ya, xb, yb = _positions(scene.relation, size, k, rng)
        _paint(out[i], scene.a, xa, ya, k, contrast)
        _paint(out[i], scene.b, xb, yb, k, contrast)
    out += noise * rng.standard_normal(out.shape, dtype=np.float32)
    return torch.from_numpy(out)


def render_objects(objects: Sequence[Object], world: World, rng: np.random.Generator, noise: float = 0.03,
                   contrast: float = 1.0) -> torch.Tensor:
    """Images of single objects at random places, shape ``(N, 3, size, size)`` (the prompt-tuning task).

    Examples
    --------
    >>> render_objects([("red", "circle")], World(), np.random.default_rng(0)).shape
    torch.Size([1, 3, 16, 16])
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    if isinstance(objects, str) or not isinstance(objects, Sequence):
        raise TypeError("objects must be a sequence of (colour, shape) tuples")
    if not objects:
        raise ValueError("objects must not be empty")
    rng = _check_rng(rng)
    _check_noise(noise, contrast)
    k, size = world.object_size, world.size
    out = np.full((len(objects), 3, size, size), BACKGROUND, dtype=np.float32)
    for i, obj in enumerate(objects):
        if obj not in world.objects:
            raise ValueError(f"objects must be the world's (colour, shape) tuples, got {obj!r}")
        x, y = (int(v) for v in rng.integers(0, size - k + 1, 2))
        _paint(out[i], obj, x, y, k, contrast)
    out += noise * rng.standard_normal(out.shape, dtype=np.float32)
    return torch.from_numpy(out)


@dataclass(frozen=True)
class SwapPairs:
    """Swap pairs ready to score: caption ``c`` of pair ``n`` is ``captions[n][c]`` and matches image
    ``images[n, c]``.

    Attributes
    ----------
    scenes
        ``(scene 0, scene 1)`` per pair.
    captions
        ``(caption 0, caption 1)`` per pair: the same words in another order.
    images
        Shape ``(N, 2, 3, size, size)``.
    kinds
        ``"objects"`` or ``"attributes"`` per pair.
    """

    scenes: list[tuple[Scene, Scene]]
    captions: list[tuple[str, str]]
    images: torch.Tensor
    kinds: list[str]

    def __len__(self) -> int:
        return len(self.scenes)


def swap_pairs(world: World, n_per_family: int, rng: np.random.Generator, held_out: bool = True) -> SwapPairs:
    """Word-order swap pairs of the held-out families (or of the training families), both kinds, rendered.

    For a family :math:`(\\{c_1, c_2\\}, \\{s_1, s_2\\})` each pair draws a relation :math:`r`, then either
    swaps the objects ("c1 s1 r c2 s2" / "c2 s2 r c1 s1") or the colours ("c1 s1 r c2 s2" / "c2 s1 r c1 s2"),
    half of each.

    Examples
    --------
    >>> pairs = swap_pairs(World(), 2, np.random.default_rng(0))
    >>> len(pairs), pairs.images.shape
    (8, torch.Size([8, 2, 3, 16, 16]))
    >>> c0, c1 = pairs.captions[0]
    >>> sorted(c0.split()) == sorted(c1.split()) and c0 != c1
    True
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    n_per_family = check_positive_int(n_per_family, "n_per_family")
    rng = _check_rng(rng)
    if not isinstance(held_out, (bool, np.bool_)):
        raise TypeError(f"held_out must be True or False, got {type(held_out).__name__}")
    families = world.test_families if held_out else world.train_families
    scenes, kinds = [], []
    for (c1, c2), (s1, s2) in families:
        for j in range(n_per_family):
            relation = world.relations[int(rng.integers(len(world.relations)))]
            first = Scene((c1, s1), relation, (c2, s2))
            kind = ("objects", "attributes")[j % 2]
            other = Scene(first.b, relation, first.a) if kind == "objects" else \
                Scene((c2, s1), relation, (c1, s2))
            pair = (first, other) if rng.random() < 0.5 else (other, first)
            scenes.append(pair)
            kinds.append(kind)
    flat = [s for pair in scenes for s in pair]
    images = render(flat, world, rng).reshape(len(scenes), 2, 3, world.size, world.size)
    return SwapPairs(scenes, [(p[0].caption(), p[1].caption()) for p in scenes], images, kinds)


def _edit_positions(world: World, steps: int) -> tuple[np.ndarray, int, int]:
    """The sliding object's left edges along the edit, and the fixed object's top-left corner."""
    k, size = world.object_size, world.size
    return np.rint(np.linspace(0, size - k, steps)).astype(int), (size - k) // 2, (size - 2 * k + 1) // 2


def edit_frame_relations(world: World, steps: int = 9) -> list[str | None]:
    """Which relation each frame of :func:`sliding_edit` shows as :func:`render` draws it: ``"left of"`` or
    ``"right of"`` when the sliding object is at least one empty column clear of the other one (training scenes
    always are), else ``None`` (the objects touch or overlap horizontally, and neither caption is true).

    Examples
    --------
    >>> edit_frame_relations(World())  # 16 px, objects of 5 px: only the last frame is clear
    [None, None, None, None, None, None, None, None, 'right of']
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    steps = check_positive_int(steps, "steps", minimum=2)
    k = world.object_size
    xs, xb, _ = _edit_positions(world, steps)
    return ["left of" if x + k + 1 <= xb else "right of" if x >= xb + k + 1 else None for x in xs]


def sliding_edit(a: Object, b: Object, world: World, rng: np.random.Generator, steps: int = 9) -> torch.Tensor:
    """A continuous edit: object ``a`` slides from the far left to the far right, one row below object
    ``b`` (which stays in the middle), in ``steps`` images of shape ``(steps, 3, size, size)``.

    The same noise field is added to every frame, so the frames differ only by the position of ``a``.
    Along the edit, "a left of b" should become less similar to the image at every step, and "a right of b"
    more similar.

    Examples
    --------
    >>> frames = sliding_edit(("red", "circle"), ("blue", "square"), World(), np.random.default_rng(0))
    >>> frames.shape
    torch.Size([9, 3, 16, 16])
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    for name, obj in (("a", a), ("b", b)):
        if obj not in world.objects:
            raise ValueError(f"{name} must be one of the world's (colour, shape) objects, got {obj!r}")
    rng = _check_rng(rng)
    steps = check_positive_int(steps, "steps", minimum=2)
    k, size = world.object_size, world.size
    xs, xb, yb = _edit_positions(world, steps)
    field = 0.03 * rng.standard_normal((3, size, size), dtype=np.float32)
    out = np.full((steps, 3, size, size), BACKGROUND, dtype=np.float32)
    for i, x in enumerate(xs):
        _paint(out[i], b, xb, yb, k, 1.0)
        _paint(out[i], a, int(x), yb + k - 1, k, 1.0)
    return torch.from_numpy(out + field)
