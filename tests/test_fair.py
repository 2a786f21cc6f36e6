"""Compute shared fairly while runs train: what a run costs (book steps), the class's limits refused
before the click with what would fit, owner groups (two names from one address are one), and a student
holding every worker yielding one at an epoch end to a classmate, then finishing with exactly the numbers
of an uninterrupted run."""

import time

import pytest
import torch
from polling import wait_for, wait_until_training
from workloads import GatedData, TinyData, make_tiny_data

from softmax_core.book.packed import fit_many
from softmax_core.book.train import Callback, Checkpoint, fit
from softmax_core.classroom.auth import (
    DEFAULT_MAX_ACTIVE_COST,
    DEFAULT_MAX_RUN_COST,
    ClassroomSettings,
    NotAllowed,
    load_classroom_settings,
)
from softmax_core.classroom.names import canonical_name
from softmax_core.classroom.policy import ClassPolicy, Identity
from softmax_core.config import PRESETS, TrainConfig, run_cost
from softmax_core.runs.executors.local import LocalExecutor
from softmax_core.runs.fair_queue import FairQueue, choose_yields
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import EVERYTHING, RunLimitReached, RunRequest, RunStore
from softmax_core.status import RunStatus


class Collect(Callback):
    """What fit() reports, kept for comparing."""

    def __init__(self):
        self.steps, self.epochs = [], []

    def on_step(self, report):
        self.steps.append(report)

    def on_epoch_end(self, report):
        self.epochs.append(report)


@pytest.fixture
def runner_of(tmp_path):
    runners = []

    def make(workers=2, data_source=None, warm_data=True):
        store = RunStore(f"sqlite:///{tmp_path}/runs.db")
        executor = LocalExecutor(store.url, workers=workers, threads_per_worker=1,
                                 data_source=data_source or TinyData(), warm_data=warm_data)
        runners.append(JobRunner(store, executor))
        return runners[-1]

    yield make
    for runner in runners:
        runner.shutdown(timeout=15)


def join(store: RunStore, name: str, address: str) -> Identity:
    return Identity(store.classroom.add_student(name, address, name_key=canonical_name(name)), name)


# --- the cost and the limits --------------------------------------------------------------------------------

def test_a_run_costs_its_steps_weighted_by_batch_in_book_steps():
    assert run_cost(TrainConfig()) == 2_350 and run_cost(PRESETS["epochs-40"].config) == 9_400
    assert run_cost(TrainConfig(batch_size=1, epochs=1)) == 60_000
    assert run_cost(TrainConfig(batch_size=1024)) == 2_360, "fewer, larger steps cost about the same"
    assert run_cost(TrainConfig(validation=True)) == 1_960, "a student's run trains on 50,000 images"
    assert run_cost(PRESETS["epochs-40"].config) <= DEFAULT_MAX_RUN_COST < run_cost(TrainConfig(batch_size=1, epochs=1))


def test_500_epochs_at_batch_1_is_refused_before_the_click_naming_the_limit_and_what_fits(runner_of):
    runner = runner_of(workers=1)
    policy = ClassPolicy(ClassroomSettings("FM-2026"), runner.store, runner)
    ada = join(runner.store, "Ada", "10.0.0.5")
    hog = TrainConfig(epochs=500, batch_size=1)
    estimate = policy.estimate(ada, [hog])
    assert not estimate.fits and "max_run_cost" in estimate.refusal
    assert "25,000,000 book steps" in estimate.refusal and "10,000 book steps" in estimate.refusal
    assert "at batch 5, 1 epoch fits" in estimate.refusal, estimate.refusal
    with pytest.raises(RunLimitReached, match=r"largest run this class allows is 10,000 book steps \(`max_run_cost`\)"):
        policy.start(ada, [RunRequest(hog, "hog")])
    assert runner.store.list_runs(scope=EVERYTHING) == [], "nothing was recorded"
    assert policy.estimate(Identity.teacher(), [hog]).fits, "the teacher has no limit"


def test_the_apps_own_lessons_fit_a_students_budget(runner_of):
    runner = runner_of(workers=1)
    policy = ClassPolicy(ClassroomSettings("FM-2026"), runner.store, runner)
    ada, bob = join(runner.store, "Ada", "10.0.0.5"), join(runner.store, "Bob", "10.0.0.6")
    sweep = [TrainConfig(batch_size=b, lr=lr) for b in (64, 256, 1024) for lr in (0.03, 0.1, 0.3)]
    exercise_two = [TrainConfig(epochs=40, seed=seed) for seed in range(5)]
    assert policy.estimate(ada, sweep).fits and policy.estimate(bob, exercise_two).fits
    ids = policy.start(ada, [RunRequest(c, "cell") for c in sweep])
    ids += policy.start(bob, [RunRequest(c, "seed") for c in exercise_two])
    assert len(ids) == 14
    for run_id in ids:
        runner.cancel(run_id)


def test_two_names_from_one_address_share_one_budget_and_the_teacher_sets_the_largest_run(runner_of):
    runner = runner_of(workers=1)
    policy = ClassPolicy(ClassroomSettings("FM-2026", max_active_cost=20_000), runner.store, runner)
    ada, ada2, bob = (join(runner.store, n, a) for n, a in (("Ada", "10.0.0.5"), ("Ada2", "10.0.0.5"),
                                                           ("Bob", "10.0.0.6")))
    long_run = TrainConfig(epochs=40)  # 7,840 book steps with a student's validation split
    policy.start(ada, [RunRequest(long_run, "1"), RunRequest(long_run, "2")])
    refusal = policy.estimate(ada2, [long_run]).refusal
    assert "(`max_active_cost`)" in refusal and "4,320 book steps is left" in refusal and "up to 22 epochs" in refusal
    with pytest.raises(RunLimitReached, match="max_active_cost"):
        policy.start(ada2, [RunRequest(long_run, "the second name")])
    with pytest.raises(RunLimitReached, match="max_active_cost"):  # the store's check, under its lock
        runner.store.create_runs([RunRequest(long_run, "direct")], owner_id=ada2.student_id, max_cost=20_000)
    policy.start(bob, [RunRequest(long_run, "his")])  # another address: his own budget
    with pytest.raises(NotAllowed):
        policy.set_run_limit(bob, 100_000)
    policy.set_run_limit(Identity.teacher(), 5_000)
    assert "up to 25 epochs fit" in policy.estimate(bob, [long_run]).refusal
    for run in runner.store.list_runs(scope=EVERYTHING):
        runner.cancel(run.id)


def test_the_limits_are_settings_with_sensible_defaults():
    defaults = load_classroom_settings({"classroom": {"code": "x"}}, environ={})
    assert (defaults.max_run_cost, defaults.max_active_cost) == (DEFAULT_MAX_RUN_COST, DEFAULT_MAX_ACTIVE_COST)
    chosen = load_classroom_settings({"classroom": {"code": "x", "max_run_cost": 3000}},
                                     environ={"SOFTMAX_LAB_MAX_ACTIVE_COST": "9000"})
    assert (chosen.max_run_cost, chosen.max_active_cost) == (3000, 9000)


# --- owner groups --------------------------------------------------------------------------------------------

def test_two_names_from_one_address_are_one_group_in_the_queue(runner_of, tmp_path):
    gate = tmp_path / "gate"
    runner = runner_of(workers=1, data_source=GatedData(gate), warm_data=False)
    store = runner.store
    ada, ada2, bob = (join(store, n, a) for n, a in (("Ada", "10.0.0.5"), ("Ada2", "10.0.0.5"), ("Bob", "10.0.0.6")))
    assert store.classroom.owner_group(ada.student_id) == store.classroom.owner_group(ada2.student_id)
    config = TrainConfig(epochs=1, batch_size=100)
    first = runner.submit(config, owner_id=ada.student_id)
    wait_for(lambda: store.get_run(first, scope=EVERYTHING).status == RunStatus.RUNNING, 30,
             "the first run to be claimed")
    queued = [runner.submit(config.replace(seed=1), owner_id=ada.student_id),
              runner.submit(config.replace(seed=2), owner_id=ada2.student_id),
              runner.submit(config.replace(seed=3), owner_id=ada2.student_id),
              runner.submit(config.replace(seed=4), owner_id=bob.student_id)]
    gate.touch()
    assert all(runner.wait(run_id, 60) for run_id in [first, *queued])
    started = sorted(queued, key=lambda run_id: store.get_run(run_id, scope=EVERYTHING).started_at)
    assert started.index(queued[3]) == 1, f"Bob's run went second, not after both of Ada's names: {started}"


def test_choose_yields_takes_from_whoever_holds_more_than_their_share():
    assert choose_yields({"a": 2}, {"b": 1}, workers=2) == ["a"]
    assert choose_yields({"a": 2}, {"a": 5}, workers=2) == [], "waiting behind oneself is no reason"
    assert choose_yields({"a": 1}, {"b": 1}, workers=2, yielding=1) == [], "one is already on its way"
    assert choose_yields({"a": 4}, {"b": 3}, workers=4) == ["a", "a"], "b's share is half"
    assert choose_yields({"a": 3, "b": 1}, {"c": 1}, workers=4) == ["a"]
    assert choose_yields({"a": 2}, {"b": 1, "c": 1}, workers=2) == ["a"], "a keeps one: its share"
    assert choose_yields({"a": 1, "b": 1}, {"c": 1}, workers=2) == [], "nobody holds more than a share"


def test_a_freed_worker_goes_to_the_owner_holding_fewest_not_back_to_the_hog():
    queue = FairQueue()
    queue.append(1, "hog")
    queue.append(2, "bob")  # the hog's turn comes first, as it would after its run went back to the queue
    assert queue.peek() == 1 and queue.peek_least_served({"hog": 1}) == 2
    assert queue.peek_least_served({}) == 1, "among equals, the turn decides"


# --- nothing lost ------------------------------------------------------------------------------------------------

def fit_in_parts(config, data, yield_after):
    """Train in parts: yielding after each epoch in ``yield_after``, resumed from the stored bytes."""
    collect, resume, results = Collect(), None, []
    while True:
        result = fit(config, data, [collect], yield_now=lambda: len(collect.epochs) in yield_after, resume=resume)
        results.append(result)
        if not result.yielded:
            return collect, results
        resume = Checkpoint.from_bytes(result.checkpoint.to_bytes())


def assert_same_numbers(collect, reference):
    assert [(s.step, s.epoch, s.train_loss, s.train_acc) for s in collect.steps] == \
           [(s.step, s.epoch, s.train_loss, s.train_acc) for s in reference.steps]
    assert len(collect.epochs) == len(reference.epochs)
    for mine, theirs in zip(collect.epochs, reference.epochs, strict=True):
        assert (mine.train_loss, mine.train_acc, mine.test_acc, mine.val_acc) == \
               (theirs.train_loss, theirs.train_acc, theirs.test_acc, theirs.val_acc)
        assert torch.equal(mine.weights, theirs.weights) and torch.equal(mine.bias, theirs.bias)


@pytest.mark.parametrize("config", [
    TrainConfig(epochs=4, batch_size=32, lr=0.3, momentum=0.9, weight_decay=0.001, validation=True),
    TrainConfig(epochs=4, batch_size=50, optimizer="adam", lr=0.01),
    TrainConfig(epochs=4, batch_size=50, implementation="scratch", momentum=0.5),
], ids=["sgd-momentum", "adam", "scratch"])
def test_a_run_that_yields_and_resumes_reaches_the_uninterrupted_runs_numbers(config, tiny_data):
    reference = Collect()
    assert fit(config, tiny_data, [reference]).status == RunStatus.FINISHED
    collect, results = fit_in_parts(config, tiny_data, yield_after={1, 3})
    assert [r.status for r in results] == [RunStatus.QUEUED, RunStatus.QUEUED, RunStatus.FINISHED]
    assert [r.checkpoint.epoch for r in results[:2]] == [1, 3]
    assert_same_numbers(collect, reference)


def test_a_pack_yields_as_a_unit_and_its_cells_resume_together_or_alone(tiny_data):
    configs = [TrainConfig(epochs=3, batch_size=32, lr=lr, momentum=m) for lr, m in ((0.1, 0.0), (0.3, 0.9))]
    whole = fit_many(configs, tiny_data)
    first = fit_many(configs, tiny_data, yield_now=lambda: True)
    assert [r.status for r in first] == [RunStatus.QUEUED] * 2
    rest = fit_many(configs, tiny_data, resumes=[Checkpoint.from_bytes(r.checkpoint.to_bytes()) for r in first])
    alone = fit(configs[1], tiny_data, resume=first[1].checkpoint)
    for cell in range(2):
        for mine, theirs in zip(first[cell].epochs + rest[cell].epochs, whole[cell].epochs, strict=True):
            assert mine.train_loss == theirs.train_loss and torch.equal(mine.weights, theirs.weights)
    assert torch.equal(alone.final.weights, whole[1].final.weights)


def test_on_the_real_data_a_run_yielded_twice_has_the_uninterrupted_runs_numbers(fashion_mnist, one_thread):
    config = TrainConfig(epochs=3, momentum=0.5, validation=True)
    reference = Collect()
    fit(config, fashion_mnist, [reference])
    collect, results = fit_in_parts(config, fashion_mnist, yield_after={1, 2})
    assert len(results) == 3 and results[-1].final.train_acc > 0.75
    assert_same_numbers(collect, reference)


# --- the hog yields to a classmate ----------------------------------------------------------------------------

def test_a_student_on_every_worker_yields_one_to_a_classmate_within_seconds_and_loses_nothing(runner_of, one_thread):
    runner = runner_of(workers=2)
    store = runner.store
    ada, ada2, bob = (join(store, n, a) for n, a in (("Ada", "10.0.0.5"), ("Ada2", "10.0.0.5"), ("Bob", "10.0.0.6")))
    hog = TrainConfig(epochs=80, batch_size=4, validation=True)  # 125 short steps an epoch on the tiny data
    hogs = [runner.submit(hog, owner_id=ada.student_id), runner.submit(hog.replace(seed=1), owner_id=ada2.student_id)]
    for run_id in hogs:
        wait_until_training(store, run_id, 60)
    asked = time.monotonic()
    classmate = runner.submit(TrainConfig(epochs=1, batch_size=100, validation=True), owner_id=bob.student_id)
    wait_until_training(store, classmate, 30)
    waited = time.monotonic() - asked
    assert waited < 10, f"the classmate's first point came after {waited:.1f} s"
    assert all(store.get_run(run_id, scope=EVERYTHING).last_step < 80 * 125 for run_id in hogs), \
        "both hog runs were still going"
    assert all(runner.wait(run_id, 240) for run_id in [classmate, *hogs])
    runs = {run.id: run for run in store.get_runs(hogs, scope=EVERYTHING)}
    assert all(run.status == RunStatus.FINISHED for run in runs.values())
    assert sorted(run.yields for run in runs.values()) == [0, 1], "one of the two gave its worker back once"
    for run_id, config in zip(hogs, (hog, hog.replace(seed=1)), strict=True):
        reference = Collect()
        fit(config, make_tiny_data(), [reference])
        points = store.read_points(run_id, scope=EVERYTHING)
        assert [(p.step, p.train_loss, p.train_acc) for p in points] == \
               [(s.step, s.train_loss, s.train_acc) for s in reference.steps], f"run {run_id} lost nothing"
        assert [e.val_acc for e in store.read_epochs(run_id, scope=EVERYTHING)] == [e.val_acc for e in reference.epochs]
        assert store.read_checkpoint(run_id) is None, "a finished run keeps no checkpoint"
