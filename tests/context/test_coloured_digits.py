"""Facts of the coloured-digits environments: sizes, agreement and noise rates, the grayscale view, shifts."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from causal_lessons.confounders.coloured_images import PALETTE
from causal_lessons.context.coloured_digits import (
    N_DIGITS,
    coloured_digits,
    environments_dag,
    make_environment,
    pool,
    random_shifts,
    remove_colour,
)
from causal_lessons.diagrams import edges_through_nodes
from causal_lessons.equivariance.rotated_digits import load_digit_images


def within_binomial(successes: int, n: int, p: float) -> bool:
    """The count is inside the central 99.9% of Binomial(n, p)."""
    low, high = stats.binom.ppf([0.0005, 0.9995], n, p)
    return low <= successes <= high


@pytest.fixture(scope="module")
def big():
    """Five shifted copies of every digit: 8,985 test and 6,000 training images per environment."""
    return coloured_digits(seed=1, copies=5)


def test_sizes_and_the_shipped_digit_count():
    data = coloured_digits(seed=0)
    assert len(load_digit_images()[1]) == N_DIGITS
    assert [len(e) for e in data.train] == [N_DIGITS - 597] * 2 and len(data.test) == 597
    assert data.train[0].images.shape[1:] == (2, 17, 17)


def test_agreement_and_noise_rates_are_the_papers(big):
    for env, agreement in zip((*big.train, big.test), (0.9, 0.8, 0.1)):
        n = len(env)
        assert within_binomial(int(env.colour_agrees.sum()), n, agreement)
        assert within_binomial(int(env.flipped.sum()), n, 0.25)


def test_labels_are_the_digit_test_flipped_by_noise(big):
    for env in (*big.train, big.test):
        clean = (env.digit < 5).float()
        assert torch.equal(env.y, torch.where(env.flipped, 1 - clean, clean))


def test_noise_is_independent_of_the_colour_agreement(big):
    env = big.train[0]
    agrees, flipped = env.colour_agrees, env.flipped
    # Within each group the noise rate is the environment's 25%: the colour says nothing about the noise.
    for group in (agrees, ~agrees):
        assert within_binomial(int(flipped[group].sum()), int(group.sum()), 0.25)


def test_the_colour_is_in_exactly_one_channel_and_the_grey_view_has_none():
    data = coloured_digits(seed=2)
    env = data.train[1]
    red, green = env.images[:, 0].sum((1, 2)), env.images[:, 1].sum((1, 2))
    assert torch.equal(red > 0, env.colour == 0) and torch.equal(green > 0, env.colour == 1)
    grey = remove_colour(env)
    assert torch.equal(grey.images[:, 0], grey.images[:, 1])
    assert torch.allclose(grey.images[:, 0], env.images.sum(1))


def test_test_digits_are_not_training_digits():
    data = coloured_digits(seed=3)
    images = load_digit_images()[0][:, 0]
    train_shapes = data.train[0].images.sum(1)
    test_shapes = data.test.images.sum(1)
    distances = torch.cdist(test_shapes.flatten(1), train_shapes.flatten(1)).min(1).values
    duplicates = torch.cdist(images.flatten(1), images.flatten(1)).fill_diagonal_(1).min(1).values
    # A test image equals a training image only where scikit-learn itself ships duplicates.
    assert int((distances < 1e-6).sum()) <= int((duplicates < 1e-6).sum())


def test_parameters_change_the_environments():
    data = coloured_digits(seed=0, agreements=(1.0, 0.0), test_agreement=0.5, noise=0.0)
    assert bool(data.train[0].colour_agrees.all()) and not bool(data.train[1].colour_agrees.any())
    assert not bool(data.train[0].flipped.any())


def test_shifts_keep_the_ink_and_the_first_copy():
    x, _ = load_digit_images()
    shifted = random_shifts(x[:50], 4, 2, torch.Generator().manual_seed(0))
    assert torch.equal(shifted[:50], x[:50])
    # The digits sit on a border of at least two black pixels on the right and bottom only, so a shift may
    # push ink out on the other sides; most of the ink stays.
    assert float(shifted[50:].sum()) > 0.9 * 3 * float(x[:50].sum())
    with pytest.raises(ValueError, match="max_shift"):
        random_shifts(x[:2], 2, 17)


def test_pool_and_make_environment_errors():
    data = coloured_digits(seed=0)
    assert len(pool(data.train)) == 2 * len(data.train[0])
    x, d = load_digit_images()
    with pytest.raises(ValueError, match="digits"):
        make_environment(x[:3], d[:2], 0.9)
    with pytest.raises(ValueError, match="agreement"):
        make_environment(x[:3], d[:3], 1.5)
    with pytest.raises(TypeError, match="agreements"):
        coloured_digits(agreements=0.9)


def test_reused_colours_and_the_diagram():
    assert PALETTE.shape[1] == 3  # chapter 2's palette, reused through colourise
    for irm in (False, True):
        assert edges_through_nodes(environments_dag(irm).pipe(format="svg").decode()) == []
