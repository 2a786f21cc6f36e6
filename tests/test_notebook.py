"""notebook.py: the book's train_ch3 on the real data, with torch DataLoaders as the book makes them,
trains exactly as d2l's loop does (a copy of d2l's code here is the reference) and records every epoch
in the run store as it goes; record_run records one's own loop, and an error ends the run failed."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from softmax_core.notebook import record_run, train_ch3
from softmax_core.runs.store import EVERYTHING, RunStatus, RunStore


def d2l_accuracy(y_hat, y):  # d2l.accuracy, as the book prints it
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def d2l_train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    """d2l's train_epoch_ch3 and evaluate_accuracy, with the Animator replaced by a list."""
    history = []
    for _ in range(num_epochs):
        net.train()
        metric = [0.0, 0.0, 0.0]
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
            for i, value in enumerate((float(l.sum()), d2l_accuracy(y_hat, y), y.numel())):
                metric[i] += value
        net.eval()
        right, count = 0.0, 0
        with torch.no_grad():
            for X, y in test_iter:
                right, count = right + d2l_accuracy(net(X), y), count + y.numel()
        history.append((metric[0] / metric[2], metric[1] / metric[2], right / count))
    return history


def book_loaders(data, batch_size: int, seed: int):
    """The book's iterators: 1x28x28 images, the training set shuffled (by a seeded generator here)."""
    train = TensorDataset(data.train_images.reshape(-1, 1, 28, 28), data.train_labels)
    test = TensorDataset(data.test_images.reshape(-1, 1, 28, 28), data.test_labels)
    shuffled = DataLoader(train, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    return shuffled, DataLoader(test, batch_size, shuffle=False)


def init_weights(module):  # the book's
    if type(module) is nn.Linear:
        nn.init.normal_(module.weight, std=0.01)


def book_model():
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    net.apply(init_weights)
    return net


def mlp_model():  # section 4.3's, with 64 hidden units rather than 256 (the test runs on two busy cores)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    net.apply(init_weights)
    return net


@pytest.mark.parametrize("make_model, epochs, momentum", [(book_model, 2, 0.0), (mlp_model, 1, 0.5)],
                         ids=["book-linear", "mlp"])
def test_train_ch3_trains_as_the_book_and_records_each_epoch(fashion_mnist, tmp_path, make_model, epochs, momentum,
                                                             capsys):
    torch.manual_seed(0)
    net = make_model()
    reference_net = copy.deepcopy(net)
    loss = nn.CrossEntropyLoss(reduction="none")
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")

    train_iter, test_iter = book_loaders(fashion_mnist, 256, seed=1)
    trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=momentum)
    train_ch3(net, train_iter, test_iter, loss, epochs, trainer, store=store)
    train_iter, test_iter = book_loaders(fashion_mnist, 256, seed=1)
    expected = d2l_train_ch3(reference_net, train_iter, test_iter, loss, epochs,
                             torch.optim.SGD(reference_net.parameters(), lr=0.1, momentum=momentum))

    [run] = store.list_runs(scope=EVERYTHING)
    assert run.status == RunStatus.FINISHED and run.tags["source"] == "notebook"
    config = run.config
    assert (config.batch_size, config.lr, config.momentum, config.epochs) == (256, 0.1, momentum, epochs)
    assert (run.steps_per_epoch, run.total_steps) == (235, 235 * epochs)
    stored_epochs = store.read_epochs(run.id, scope=EVERYTHING)
    stored = [value for e in stored_epochs for value in (e.train_loss, e.train_acc, e.test_acc)]
    assert stored == pytest.approx([value for epoch in expected for value in epoch], rel=1e-6, abs=1e-7)
    assert expected[-1][0] < 1.2 and expected[-1][2] > 0.6  # it learned (chance: loss 2.3, accuracy 0.1)
    assert run.verdict is not None and [c.value for c in run.verdict.checks] == pytest.approx(list(expected[-1]))
    points = store.read_points(run.id, scope=EVERYTHING)
    assert len(points) >= epochs and points[-1].step == 235 * epochs and points[-1].test_acc == pytest.approx(
        expected[-1][2])
    last = store.read_epoch(run.id, epochs, scope=EVERYTHING)
    assert (last.weights is not None) == (make_model is book_model)  # the Inspect page's templates
    assert int(last.confusion.sum()) == 10000
    assert f"run {run.id}: " in capsys.readouterr().out


def test_record_run_logs_ones_own_loop(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    with record_run(name="my loop", store=store, lr=0.05, batch_size=128, epochs=2, hidden=256) as run:
        run.log_epoch(train_loss=0.6, train_acc=0.78, test_acc=0.77)
        assert store.get_run(run.run_id, scope=EVERYTHING).status == RunStatus.RUNNING  # the dashboard sees it going
        run.log_epoch(train_loss=0.45, train_acc=0.84, test_acc=0.83)
    saved = store.get_run(run.run_id, scope=EVERYTHING)
    assert (saved.name, saved.status, saved.config.lr, saved.config.batch_size) == ("my loop", "finished", 0.05, 128)
    assert saved.tags["hidden"] == "256" and saved.verdict.passed
    assert [e.test_acc for e in store.read_epochs(saved.id, scope=EVERYTHING)] == [0.77, 0.83]


def test_an_epoch_whose_last_batch_just_wrote_a_live_point_is_recorded(tmp_path, monkeypatch):
    """On a slow machine the epoch's last batch can be the one that writes a live point (every half second):
    the epoch's end then lands on that point, rather than writing a second point at the same step."""
    import softmax_core.notebook as notebook

    monkeypatch.setattr(notebook, "POINT_SECONDS", 0.0)  # every batch writes a live point
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    with record_run(store=store, steps_per_epoch=3, epochs=2) as run:
        for _ in range(2):
            for _ in range(3):
                run.log_batch(loss_sum=64.0, correct=50, count=64)
            run.log_epoch(train_loss=1.0, train_acc=0.78, test_acc=0.77)
    saved = store.get_run(run.run_id, scope=EVERYTHING)
    assert saved.status == RunStatus.FINISHED, saved.error
    points = store.read_points(saved.id, scope=EVERYTHING)
    assert [p.step for p in points] == [1, 2, 3, 4, 5, 6] and [p.step for p in points if p.test_acc] == [3, 6]


def test_an_error_in_the_loop_ends_the_run_failed_and_is_raised_on(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    with pytest.raises(ZeroDivisionError), record_run(store=store) as run:
        run.log_epoch(train_loss=0.6, train_acc=0.78, test_acc=0.77)
        run.log_epoch(train_loss=1 / 0, train_acc=0.0, test_acc=0.0)
    saved = store.get_run(run.run_id, scope=EVERYTHING)
    assert saved.status == RunStatus.FAILED and "ZeroDivisionError" in saved.error
    assert len(store.read_epochs(saved.id, scope=EVERYTHING)) == 1
