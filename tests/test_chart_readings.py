"""chart_readings.py: TensorBoard's smoothing, worked by hand, and the charts' text alternatives."""

import math

import pytest

from softmax_core.analysis.chart_readings import (
    describe_band,
    describe_confusion,
    describe_grid,
    describe_loss,
    describe_per_class,
    describe_run_curves,
    smooth_curve,
)
from softmax_core.analysis.sweeps.grid import HeatCell


def test_smoothing_is_a_debiased_moving_average_worked_by_hand():
    # weight 0.5: averages 0.5, 0.25, 0.625 divided by 1 - 0.5, 1 - 0.25, 1 - 0.125
    assert smooth_curve([1.0, 0.0, 1.0], 0.5) == pytest.approx([1.0, 1 / 3, 5 / 7])
    assert smooth_curve([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0]), "starts at the value, not 0"


def test_no_smoothing_is_the_curve_itself_and_the_weight_stops_at_099():
    assert smooth_curve([0.9, 0.1, 0.5], 0.0) == [0.9, 0.1, 0.5]
    assert smooth_curve([], 0.9) == []
    with pytest.raises(ValueError, match="smoothing must be in"):
        smooth_curve([1.0], 1.0)


def test_a_nan_is_kept_where_it_is_and_left_out_of_the_average():
    smoothed = smooth_curve([1.0, math.nan, 3.0], 0.5)
    assert smoothed[0] == 1.0 and math.isnan(smoothed[1]) and smoothed[2] == pytest.approx(1.75 / 0.75)


def test_smoothing_calms_the_noise_of_a_zigzag_and_follows_its_trend():
    zigzag = [1.0 + (0.2 if step % 2 else -0.2) - step * 0.01 for step in range(40)]
    smoothed = smooth_curve(zigzag, 0.9)
    jumps = [abs(b - a) for a, b in zip(smoothed[20:], smoothed[21:])]
    assert max(jumps) < 0.1 < 0.4 and smoothed[-1] < smoothed[5]


def test_a_runs_curves_in_a_sentence():
    sentence = describe_run_curves("#1 book", [0.5, 10.0], [0.78, 0.45],
                                   {"train acc": [0.7, 0.85], "test acc": [0.80, 0.83], "val acc": []})
    assert sentence == ("#1 book: train loss fell from 0.78 to 0.45 over 10 epochs; train acc ends at 0.85; "
                        "test acc ends at 0.83.")


@pytest.mark.parametrize("epochs, losses, expected", [
    ([1.0, 2.5], [0.5, 0.9], "train loss rose from 0.50 to 0.90 over 2.5 epochs"),
    ([0.5, 1.0], [2.3, math.nan], "train loss went from 2.30 to NaN over 1 epoch"),
    ([0.5, 1.0], [0.601, 0.599], "train loss stayed at 0.60 over 1 epoch"),
    ([], [], "no train loss recorded"),
])
def test_the_loss_rises_diverges_or_stays_in_words(epochs, losses, expected):
    assert describe_loss(epochs, losses) == expected


def test_a_confusion_matrix_and_per_class_accuracy_in_a_sentence():
    assert describe_confusion([[5, 1], [3, 7]], ["shirt", "t-shirt"], "validation") == \
        "12 of 16 validation images right; most often confused: true t-shirt predicted shirt (3 times)."
    assert describe_per_class([0.55, 0.96, 0.8], ["shirt", "trouser", "bag"]) == \
        "Worst test accuracy: shirt 55%; best: trouser 96%."


def test_a_seed_band_and_a_sweep_grid_in_a_sentence():
    assert describe_band("test accuracy", [0.80, 0.83], [0.02, 0.01]) == \
        "test accuracy ends at 0.83 ± 0.01 after 2 epochs, starting from 0.80"
    cells = [HeatCell(64, 0.1, 0.45, 0.01, 2, 0, True, 0), HeatCell(1024, 0.1, 0.52, None, 1, 0, False, 1),
             HeatCell(256, 0.1, None, None, 0, 1, False, 2)]
    assert describe_grid(cells, "train loss", lambda cell: f"batch {cell.x}") == (
        "2 of 3 cells finished; train loss from 0.450 (batch 64) to 0.520 (batch 1024); "
        "1 inside the book's train loss < 0.5.")
