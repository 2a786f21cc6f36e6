"""train.py: the book's numbers on the real data, its metric definitions, events, stop, divergence."""

import threading

import pytest
import torch
from torch import nn

from softmax_core.book import reference
from softmax_core.book.model import build_concise_model
from softmax_core.book.train import (
    CANCELLED,
    DIVERGED,
    FINISHED,
    Callback,
    ConciseTrainer,
    EpochSchedule,
    fit,
    send_event,
)
from softmax_core.config import ConfigError, TrainConfig


class Recorder(Callback):
    def __init__(self):
        self.starts, self.steps, self.epochs, self.ends = [], [], [], []

    def on_fit_start(self, start):
        self.starts.append(start)

    def on_step(self, report):
        self.steps.append(report)

    def on_epoch_end(self, report):
        self.epochs.append(report)

    def on_fit_end(self, result):
        self.ends.append(result)


# --- claims about learning, on the real Fashion-MNIST ---------------------------------------------

def test_the_books_run_reaches_the_books_numbers(exercise_one):
    result = exercise_one["book"].result
    final = result.final
    assert result.status == FINISHED and len(result.epochs) == 10
    assert 0.440 <= final.train_loss <= 0.455
    assert final.train_acc >= 0.84
    assert final.test_acc >= 0.815
    assert result.verdict.passed


def test_the_test_loss_is_the_mean_cross_entropy_of_each_epochs_model_on_the_test_images(exercise_one,
                                                                                          fashion_mnist):
    epochs = exercise_one["book"].result.epochs
    for report in (epochs[0], epochs[-1]):
        logits = fashion_mnist.test_images @ report.weights.t() + report.bias
        assert report.test_loss == pytest.approx(float(nn.functional.cross_entropy(logits, fashion_mnist.test_labels)),
                                                 rel=1e-5)
    assert epochs[-1].test_loss < epochs[0].test_loss, "the book's run learns: its test loss falls"
    assert epochs[-1].test_loss > epochs[-1].train_loss, "and the test images stay harder than the trained ones"
    assert all(report.val_loss is None for report in epochs), "no validation split, no validation loss"


def test_batch_1024_fails_the_books_loss_check(exercise_one):
    result = exercise_one["batch-1024"].result
    assert 0.51 <= result.final.train_loss <= 0.535
    assert [check.name for check in result.verdict.failed] == ["train_loss < 0.5"]
    assert result.verdict.failed[0].value == result.final.train_loss


def test_scratch_and_concise_learn_the_same_curves(fashion_mnist, exercise_one):
    concise = exercise_one["book"].result
    scratch = fit(TrainConfig(implementation="scratch"), fashion_mnist)
    assert len(concise.epochs) == len(scratch.epochs) == 10
    for a, b in zip(concise.epochs, scratch.epochs, strict=True):
        assert abs(a.train_loss - b.train_loss) < 0.01
        assert abs(a.train_acc - b.train_acc) < 0.01
        assert abs(a.test_acc - b.test_acc) < 0.015


def test_naive_softmax_diverges_where_the_concise_one_does_not(fashion_mnist):
    huge_init = TrainConfig(init_std=10.0, epochs=2)
    scratch = fit(huge_init.replace(implementation="scratch"), fashion_mnist)
    concise = fit(huge_init, fashion_mnist)
    assert scratch.status == DIVERGED
    assert scratch.diverged_step == 1 and "step 1" in scratch.message
    assert scratch.verdict is None
    assert concise.status == FINISHED
    assert concise.epochs[-1].train_loss < concise.epochs[0].train_loss


# --- mechanics, on small made-up data ---------------------------------------------------------------

@pytest.mark.parametrize("changes", [{}, {"momentum": 0.9, "weight_decay": 0.01}, {"batch_size": 64}])
def test_fit_computes_exactly_the_books_metrics_and_updates(tiny_data, changes):
    config = TrainConfig(**{"epochs": 3, "batch_size": 100, "lr": 0.5, **changes})
    result = fit(config, tiny_data)
    model, history = reference.train_ch3(config, tiny_data)
    for report, (loss, acc, test_acc) in zip(result.epochs, history, strict=True):
        assert report.train_loss == pytest.approx(loss, rel=1e-5)
        assert report.train_acc == pytest.approx(acc, abs=1e-9)
        assert report.test_acc == pytest.approx(test_acc, abs=1e-9)
    assert torch.allclose(result.final.weights, model[1].weight.detach(), atol=1e-6)
    assert torch.allclose(result.final.bias, model[1].bias.detach(), atol=1e-6)


def test_adams_analytic_gradient_equals_autograd():
    generator = torch.Generator().manual_seed(1)
    images, labels = torch.rand(32, 784, generator=generator), torch.randint(0, 10, (32,), generator=generator)
    trainer = ConciseTrainer(TrainConfig(init_std=0.5, optimizer="adam"), torch.Generator().manual_seed(0),
                             torch.device("cpu"))
    reference = build_concise_model(0.5, torch.Generator().manual_seed(0))
    nn.CrossEntropyLoss()(reference(images), labels).backward()
    trainer.optimizer.step = lambda: None  # keep the gradient, skip the update
    trainer.train_step(images, labels)
    assert torch.allclose(trainer.linear.weight.grad, reference[1].weight.grad, atol=1e-6)
    assert torch.allclose(trainer.linear.bias.grad, reference[1].bias.grad, atol=1e-6)


def test_adam_learns(tiny_data):
    result = fit(TrainConfig(optimizer="adam", lr=0.01, epochs=3, batch_size=50), tiny_data)
    assert result.final.train_loss < result.epochs[0].train_loss
    assert result.final.test_acc > 0.5


def test_same_seed_same_run_other_seed_other_run(tiny_data):
    config = TrainConfig(epochs=2, batch_size=64)
    first, second = fit(config, tiny_data), fit(config, tiny_data)
    other = fit(config.replace(seed=1), tiny_data)
    assert [e.train_loss for e in first.epochs] == [e.train_loss for e in second.epochs]
    assert torch.equal(first.final.weights, second.final.weights)
    assert not torch.equal(first.final.weights, other.final.weights)


def test_events_arrive_in_order_at_least_five_times_an_epoch(tiny_data):
    recorder = Recorder()
    result = fit(TrainConfig(epochs=2, batch_size=32), tiny_data, [recorder])
    start = recorder.starts[0]
    assert len(recorder.starts) == 1 and recorder.ends == [result]
    assert start.steps_per_epoch == 19 and start.total_steps == 38
    assert len(recorder.steps) == 10
    epochs = [report.epoch for report in recorder.steps]
    assert epochs == sorted(epochs) and epochs[4] == 1.0 and epochs[-1] == 2.0
    assert [report.step for report in recorder.steps][-1] == 38
    assert [report.epoch for report in recorder.epochs] == [1, 2]
    assert len(recorder.epochs[0].step_losses) == 19
    schedule = EpochSchedule(600, 32, 5)
    assert [schedule.examples_in(i, i + 1) for i in (0, 17, 18)] == [32, 32, 24], "the last batch holds the rest"


def test_window_averages_add_up_to_the_epoch_average(tiny_data):
    recorder = Recorder()
    fit(TrainConfig(epochs=1, batch_size=32, reports_per_epoch=4), tiny_data, [recorder])
    schedule = EpochSchedule(600, 32, 4)
    bounds = [0] + schedule.report_after()
    weighted = sum(report.train_loss * schedule.examples_in(a, b)
                   for report, a, b in zip(recorder.steps, bounds, bounds[1:]))
    assert weighted / 600 == pytest.approx(recorder.epochs[0].train_loss, rel=1e-5)


def test_schedule_reports_every_step_when_an_epoch_is_short():
    assert EpochSchedule(600, 200, 5).report_after() == [1, 2, 3]
    assert EpochSchedule(60000, 256, 5).report_after() == [47, 94, 141, 188, 235]


def test_stop_signal_ends_the_run_between_steps(tiny_data):
    stop = threading.Event()

    class StopAfterFirstReport(Callback):
        def on_step(self, report):
            stop.set()

    recorder = Recorder()
    result = fit(TrainConfig(epochs=5, batch_size=32), tiny_data, [StopAfterFirstReport(), recorder], stop)
    assert result.status == CANCELLED and result.verdict is None and result.epochs == ()
    assert len(recorder.steps) == 1 and recorder.ends == [result]
    assert "cancelled after step 4" in result.message


def test_diverged_run_reports_the_first_bad_step(tiny_data):
    recorder = Recorder()
    result = fit(TrainConfig(implementation="scratch", init_std=50.0, epochs=3, batch_size=32),
                 tiny_data, [recorder])
    assert result.status == DIVERGED and result.diverged_step == 1
    assert result.diverged_epoch == pytest.approx(1 / 19)
    assert recorder.ends == [result] and recorder.epochs == []


def test_cuda_without_a_gpu_is_a_config_error(tiny_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device: cuda was asked for"):
        fit(TrainConfig(device="cuda"), tiny_data)


def test_a_misspelled_hook_is_an_error_not_silence():
    with pytest.raises(ValueError, match="no callback hook named 'on_epoch_ends'"):
        send_event([Callback()], "on_epoch_ends", None)
