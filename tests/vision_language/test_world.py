"""The world: captions, held-out families, rendering that makes the caption true, swap pairs and the edit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from causal_lessons.vision_language.scenes import (
    BACKGROUND,
    COLOURS,
    Scene,
    WordTokenizer,
    World,
    edit_frame_relations,
    family_of,
    object_caption,
    render,
    render_objects,
    sliding_edit,
    swap_pairs,
)


def centre_of(image: torch.Tensor, colour: str) -> tuple[float, float]:
    """(x, y) centre of the pixels of one colour (the noise is far smaller than the colour gaps)."""
    target = torch.tensor(COLOURS[colour])[:, None, None]
    mask = ((image - target).abs() < 0.15).all(0)
    ys, xs = torch.nonzero(mask, as_tuple=True)
    assert len(xs), f"no {colour} pixels"
    return float(xs.float().mean()), float(ys.float().mean())


def test_world_counts():
    w = World()
    assert len(w.objects) == 12 and len(w.families) == 6 * 3 and len(w.test_families) == 4
    full = World(n_colours=6, n_shapes=5, n_relations=4, size=32, held_out=30)
    assert len(full.families) == 15 * 10 and full.object_size == 10
    # Every ordered pair of distinct objects, minus the 4 ordered pairs of each held-out family (2 pairs x 2 orders).
    assert len(w.train_scenes) == 12 * 11 - 4 * 4


def test_held_out_families_never_appear_in_training():
    w = World()
    held = set(w.test_families)
    assert all(family_of(s.a, s.b) not in held for s in w.train_scenes)
    # ...while every object and every colour and shape still appears in training.
    seen = {o for s in w.train_scenes for o in (s.a, s.b)}
    assert seen == set(w.objects)


def test_captions_and_inverse():
    s = Scene(("red", "circle"), "above", ("blue", "square"))
    assert s.caption() == "a red circle above a blue square"
    assert s.inverse() == Scene(("blue", "square"), "below", ("red", "circle"))
    assert s.inverse().inverse() == s
    assert object_caption(("green", "triangle")) == "a picture of a green triangle"


@pytest.mark.parametrize("relation", ["left of", "right of", "above", "below"])
def test_rendering_makes_the_relation_true(relation):
    w = World(n_relations=4, size=32)
    rng = np.random.default_rng(1)
    scenes = [Scene(("red", "circle"), relation, ("blue", "square"))] * 30
    for img in render(scenes, w, rng, noise=0.0):
        (xa, ya), (xb, yb) = centre_of(img, "red"), centre_of(img, "blue")
        along, across = (xb - xa, yb - ya) if relation in ("left of", "right of") else (yb - ya, xb - xa)
        sign = 1 if relation in ("left of", "above") else -1
        assert sign * along > w.object_size  # apart along the relation's axis ...
        assert abs(across) < w.object_size  # ... and overlapping across it, so no other relation holds


def test_render_colours_background_and_contrast():
    w = World()
    img = render([Scene(("yellow", "triangle"), "left of", ("green", "square"))], w, np.random.default_rng(0),
                 noise=0.0)
    assert img.dtype == torch.float32 and img.shape == (1, 3, 16, 16)
    pixels = {tuple(np.round(p, 4)) for p in img[0].reshape(3, -1).T.tolist()}
    assert pixels == {(BACKGROUND,) * 3, COLOURS["yellow"], COLOURS["green"]}
    assert img[0, :, 0, 0].tolist() == pytest.approx([BACKGROUND] * 3)
    # A square of k x k pixels in green.
    green = ((img[0] - torch.tensor(COLOURS["green"])[:, None, None]).abs() < 1e-6).all(0)
    assert int(green.sum()) == w.object_size ** 2
    washed = render_objects([("red", "circle")], w, np.random.default_rng(0), noise=0.0, contrast=0.5)
    assert washed[0, 0].max().item() == pytest.approx(BACKGROUND + 0.5 * (COLOURS["red"][0] - BACKGROUND), abs=1e-6)
    noisy = render_objects([("red", "circle")] * 50, w, np.random.default_rng(0), noise=0.1)
    assert float((noisy - noisy.median()).std()) > 0.05


def test_swap_pairs_are_word_order_swaps_of_held_out_families():
    w = World()
    pairs = swap_pairs(w, 4, np.random.default_rng(0))
    assert len(pairs) == 16 and pairs.images.shape == (16, 2, 3, 16, 16)
    assert pairs.kinds.count("objects") == pairs.kinds.count("attributes") == 8
    held = set(w.test_families)
    for (s0, s1), (c0, c1), kind in zip(pairs.scenes, pairs.captions, pairs.kinds):
        assert sorted(c0.split()) == sorted(c1.split()) and c0 != c1
        assert family_of(s0.a, s0.b) in held and family_of(s1.a, s1.b) in held
        assert s0.relation == s1.relation
        if kind == "objects":
            assert (s1.a, s1.b) == (s0.b, s0.a)
    train = swap_pairs(w, 2, np.random.default_rng(0), held_out=False)
    assert all(family_of(s.a, s.b) not in held for pair in train.scenes for s in pair)


def test_sliding_edit_moves_one_object_only():
    w = World()
    frames = sliding_edit(("red", "circle"), ("blue", "square"), w, np.random.default_rng(0))
    xs = [centre_of(f, "red")[0] for f in frames]
    assert xs[0] < xs[-1] and all(b >= a for a, b in zip(xs, xs[1:]))
    blue = [centre_of(f, "blue") for f in frames]
    # The blue square keeps its place except where the sliding circle covers part of it.
    assert blue[0] == blue[-1]
    diff = frames[1:] - frames[:-1]
    assert torch.count_nonzero(diff.abs() > 1e-6) > 0


def test_edit_frames_show_a_relation_only_when_the_objects_are_clear_apart():
    # Objects are about a third of the image wide: three widths and two gaps never fit, so at most the two end
    # frames show a relation as training draws it (one empty column between the objects).
    assert edit_frame_relations(World()) == [None] * 8 + ["right of"]
    big = World(n_colours=6, n_shapes=5, n_relations=4, size=32, held_out=30)
    assert edit_frame_relations(big) == ["left of"] + [None] * 7 + ["right of"]
    k = big.object_size
    frames = sliding_edit(("red", "circle"), ("blue", "square"), big, np.random.default_rng(0))
    red_left, blue_left = (centre_of(frames[0], c)[0] - (k - 1) / 2 for c in ("red", "blue"))
    assert blue_left - (red_left + k) >= 1  # the first frame's gap, as the geometry says
    with pytest.raises(ValueError, match="steps"):
        edit_frame_relations(World(), steps=1)


def test_tokenizer_round_trip_and_errors():
    tok = WordTokenizer(World().vocabulary())
    ids, lengths = tok.encode(["a red circle left of a blue square", "a picture of a red circle"])
    assert lengths.tolist() == [8, 6] and ids[1, 6:].tolist() == [0, 0]
    assert tok.decode(ids[0]) == "a red circle left of a blue square"
    with pytest.raises(ValueError, match="unknown"):
        tok.encode(["a purple circle"])
    with pytest.raises(TypeError, match="not one string"):
        tok.encode("a red circle")


def test_render_rejects_an_empty_list_and_foreign_scenes():
    w = World()
    with pytest.raises(ValueError, match="scenes must not be empty"):
        render([], w, np.random.default_rng(0))
    with pytest.raises(ValueError, match="relations"):
        render([Scene(("red", "circle"), "above", ("blue", "square"))], w, np.random.default_rng(0))
    with pytest.raises(ValueError, match="objects"):
        render([Scene(("purple", "circle"), "left of", ("blue", "square"))], w, np.random.default_rng(0))


def test_world_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_relations"):
        World(n_relations=3)
    with pytest.raises(ValueError, match="held_out"):
        World(held_out=18)
    with pytest.raises(ValueError, match="n_colours"):
        World(n_colours=9)
