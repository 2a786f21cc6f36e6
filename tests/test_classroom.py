"""Classroom mode's core: the teacher's password hash and its guessing limiter, students' tokens, the
settings that turn it on, who may cancel what, the active-run limit, round-robin fairness between
students, the validation split (disjoint, the same for every run; on the real data it measures what the
test set does), and the class board's ranking and its reading on reveal."""

import pytest
import torch
from workloads import TinyData, make_tiny_data

from softmax_core.book.train import fit
from softmax_core.classroom.auth import (
    ClassroomError,
    GuessLimiter,
    NotAllowed,
    clean_display_name,
    hash_password,
    is_password_hash,
    load_classroom_settings,
    new_token,
    token_digest,
    verify_password,
)
from softmax_core.classroom.board import CHALLENGES, Challenge, rank_board, read_reveal
from softmax_core.classroom.policy import Identity
from softmax_core.config import ConfigError, TrainConfig
from softmax_core.dataset_sizes import TRAIN_SET_SIZE, VALIDATION_SIZE
from softmax_core.runs.executors.local import LocalExecutor
from softmax_core.runs.fair_queue import FairQueue
from softmax_core.runs.jobs import JobRunner, RunLimitReached
from softmax_core.runs.store import RunStore


def test_a_password_hash_is_salted_and_checks_only_its_password():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and is_password_hash(first), "a fresh salt each time"
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "scrypt$1$2$3$not-base64$x"), "a broken hash matches nothing"
    assert "correct horse" not in first
    with pytest.raises(ClassroomError, match="must not be empty"):
        hash_password("")


def test_guesses_are_refused_for_a_growing_wait_after_five_failures():
    now = [100.0]
    limiter = GuessLimiter(free_tries=5, first_wait=2.0, clock=lambda: now[0])
    stored = hash_password("right")
    assert not any(limiter.check("wrong", stored) for _ in range(4))
    assert not limiter.check("wrong", stored)  # the fifth failure starts the wait
    with pytest.raises(NotAllowed, match="try again in 2 s"):
        limiter.check("right", stored)  # even the right password waits
    now[0] += 2.1
    assert not limiter.check("wrong", stored)
    assert limiter.seconds_to_wait() == pytest.approx(4.0)
    now[0] += 4.1
    assert limiter.check("right", stored)
    assert not limiter.check("wrong", stored) and limiter.seconds_to_wait() == 0, "a success starts afresh"


def test_tokens_are_random_256_bit_and_stored_only_as_digests():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(token) >= 43 for token in tokens)  # 32 bytes as URL-safe base64
    token = next(iter(tokens))
    assert token_digest(token) == token_digest(token) and token not in token_digest(token)
    assert len(token_digest(token)) == 64


def test_display_names_are_trimmed_and_bounded():
    assert clean_display_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean_display_name("<b>Bob</b>") == "<b>Bob</b>", "kept as typed: pages show it as text"
    with pytest.raises(ClassroomError, match="display name"):
        clean_display_name("   ")
    with pytest.raises(ClassroomError, match="at most 40 characters"):
        clean_display_name("x" * 41)


def test_classroom_mode_is_on_only_with_a_code_from_the_environment_or_secrets():
    assert load_classroom_settings({}, environ={}) is None
    stored = hash_password("pw")
    from_secrets = load_classroom_settings({"code": "FM-2026", "teacher_password_hash": stored}, environ={})
    assert (from_secrets.code, from_secrets.teacher_password_hash, from_secrets.max_active_runs) == (
        "FM-2026", stored, 3)
    assert from_secrets.code_matches(" fm-2026 ") and not from_secrets.code_matches("FM-2025")
    from_env = load_classroom_settings(None, environ={"SOFTMAX_LAB_CLASS_CODE": "abc",
                                                     "SOFTMAX_LAB_TEACHER_PASSWORD": "plain demo",
                                                     "SOFTMAX_LAB_MAX_ACTIVE_RUNS": "5"})
    assert verify_password("plain demo", from_env.teacher_password_hash) and from_env.max_active_runs == 5
    with pytest.raises(ClassroomError, match="max_active_runs must be a whole number from 1 to 50"):
        load_classroom_settings({"code": "x", "max_active_runs": 0}, environ={})


class Run:  # the two fields the rules read
    def __init__(self, run_id, owner_id, shared=False):
        self.id, self.owner_id, self.shared = run_id, owner_id, shared


def test_only_the_owner_or_the_teacher_may_cancel_and_students_see_shared_runs():
    ada, bob = Identity(1, "Ada"), Identity(2, "Bob")
    adas, shared = Run(10, 1), Run(11, 1, shared=True)
    ada.check_can_cancel(adas)
    Identity.teacher().check_can_cancel(adas)
    with pytest.raises(NotAllowed, match="run 10 belongs to another student"):
        bob.check_can_cancel(adas)
    assert (bob.can_see(adas), bob.can_see(shared), Identity.teacher().can_see(adas)) == (False, True, True)
    assert not Identity(None, "anyone").owns(Run(12, None)), "an ownerless run is nobody's"


def test_fair_queue_takes_turns_between_owners():
    queue = FairQueue()
    for run_id in range(1, 31):
        queue.append(run_id, owner="ada")  # Ada queues 30 runs first
    queue.append(100, owner="bob")
    queue.append(101, owner="bob")
    queue.append(200, owner="cy")
    order = [queue.popleft() for _ in range(6)]
    assert order == [1, 100, 200, 2, 101, 3], "Bob and Cy wait one run of Ada's, not thirty"
    queue.remove(5)
    assert list(queue) == [4] + list(range(6, 31)) and len(queue) == 26
    plain = FairQueue()
    for run_id in (7, 8, 9):
        plain.append(run_id)
    assert [plain.popleft() for _ in range(3)] == [7, 8, 9], "without owners: first in, first out"


def test_the_runner_hands_out_students_runs_in_turns_and_limits_each(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()))
    try:
        ada, bob = (Identity(store.add_student(name, token_digest(new_token())), name) for name in ("Ada", "Bob"))
        config = TrainConfig(epochs=1, batch_size=100)
        adas = [runner.submit(config.replace(seed=seed), owner=ada, max_active=30) for seed in range(6)]
        bobs = [runner.submit(config.replace(seed=seed), owner=bob, max_active=30) for seed in range(2)]
        for run_id in adas + bobs:
            assert runner.wait(run_id, timeout=120)
        started = sorted(adas + bobs, key=lambda run_id: store.get_run(run_id).started_at)
        assert started.index(bobs[0]) <= 2 and started.index(bobs[1]) <= 4, f"Bob took turns: {started}"
        with pytest.raises(NotAllowed):
            runner.cancel(adas[0], by=bob)
        busy = TrainConfig(epochs=200, batch_size=1)
        held = [runner.submit(busy, owner=bob, max_active=2) for _ in range(2)]
        with pytest.raises(RunLimitReached, match="you have 2 runs queued or training; this class allows 2 at once"):
            runner.submit(config, owner=bob, max_active=2)
        runner.submit(config, owner=ada, max_active=2)  # the limit is each student's own
        with pytest.raises(NotAllowed, match=f"run {held[0]} belongs to another student"):
            runner.cancel(held[0], by=ada)
        assert store.get_run(held[0]).is_active, "a refused cancel changes nothing"
        assert all(runner.cancel(run_id, by=bob) for run_id in held)
    finally:
        runner.shutdown(timeout=15)


def test_the_validation_split_is_disjoint_fixed_and_a_sixth_of_the_training_set():
    data = make_tiny_data(num_train=600)
    split = data.validation_split()
    again = make_tiny_data(num_train=600).validation_split()
    assert len(split.rows) == 600 * VALIDATION_SIZE // TRAIN_SET_SIZE == 100
    assert set(split.rows.tolist()).isdisjoint(split.train_rows.tolist())
    assert sorted(split.rows.tolist() + split.train_rows.tolist()) == list(range(600))
    assert torch.equal(split.rows, again.rows), "the same images for every run"
    assert torch.equal(split.images, data.train_images[split.rows])
    assert data.validation_split() is split, "made once per data set"


def test_a_run_with_validation_trains_on_the_rest_and_reports_val_acc(tiny_data):
    plain = fit(TrainConfig(epochs=2, batch_size=50, device="cpu"), tiny_data)
    held = fit(TrainConfig(epochs=2, batch_size=50, validation=True, device="cpu"), tiny_data)
    assert plain.final.val_acc is None
    assert held.final.step == 2 * 10, "500 training images: 10 batches of 50 per epoch"
    assert 0.0 <= held.final.val_acc <= 1.0 and held.final.test_acc is not None
    with pytest.raises(ConfigError, match="validation: must be true or false"):
        TrainConfig(validation="yes")


def test_on_the_real_data_validation_accuracy_tracks_test_accuracy(fashion_mnist):
    result = fit(TrainConfig(epochs=3, validation=True, device="cpu"), fashion_mnist)
    assert result.epochs[0].step == 196, "50,000 training images in batches of 256"
    for epoch in result.epochs:
        assert abs(epoch.val_acc - epoch.test_acc) < 0.03, "a held-out sample measures what the test set does"
    assert result.final.val_acc > 0.78


def finished_run(store, owner_id, val_acc, test_acc, epochs=5, batch_size=256, validation=True):
    run_id = store.create_run(TrainConfig(epochs=epochs, batch_size=batch_size, validation=validation), "r",
                              owner_id=owner_id)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE runs SET status='finished', final_val_acc=?, final_test_acc=? WHERE id=?",
                             (val_acc, test_acc, run_id))
    return store.get_run(run_id)


def test_the_board_ranks_each_students_best_admitted_run_by_validation_accuracy(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    ada, bob, cy = (store.add_student(name, token_digest(new_token())) for name in ("Ada", "Bob", "Cy"))
    runs = [finished_run(store, ada, 0.80, 0.83), finished_run(store, ada, 0.84, 0.81),
            finished_run(store, bob, 0.82, 0.82), finished_run(store, bob, 0.95, 0.90, epochs=10),
            finished_run(store, cy, 0.99, 0.99, validation=False)]
    names = {student.id: student.name for student in store.list_students()}
    board = rank_board(runs, names, CHALLENGES["best-5-epochs"])
    assert [(e.rank, e.student, e.val_acc, e.test_rank) for e in board] == [(1, "Ada", 0.84, 2), (2, "Bob", 0.82, 1)]
    assert board[0].places_moved == -1 and board[1].places_moved == 1
    reading = read_reveal(board)
    assert reading[0].startswith("Ranked by test accuracy instead, 2 of 2 places change and Bob (now 2nd) would win")
    assert "Validation accuracy is 1.50% higher than test accuracy on average" in reading[1]
    assert "exercise 2" in reading[2]
    same = rank_board(runs, names, Challenge("any", "any"))
    assert [e.student for e in same] == ["Bob", "Ada"], "without the epoch rule Bob's 10-epoch run counts"
    assert read_reveal(same)[0].startswith("Ranked by test accuracy instead, both places stay the same")
    assert rank_board(runs, names, CHALLENGES["book-checks-1024"]) == []
    assert read_reveal([])[0].startswith("With fewer than two students")


def test_runs_remember_their_owner_and_sharing_and_names_are_one_per_class(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    ada = store.add_student("Ada", token_digest("token-a"))
    with pytest.raises(KeyError, match="taken"):
        store.add_student("ada", token_digest("token-b"))
    assert store.student_by_token(token_digest("token-a")).name == "Ada"
    assert store.student_by_token(token_digest("forged")) is None
    run_id = store.create_run(TrainConfig(), "mine", owner_id=ada)
    assert store.get_run(run_id).owner_id == ada and not store.get_run(run_id).shared
    store.set_shared(run_id, True)
    assert store.get_run(run_id).shared and store.count_active_runs(ada) == 1
    store.set_class_state("challenge", "best-any")
    store.set_class_state("challenge", "best-5-epochs")
    assert store.class_state() == {"challenge": "best-5-epochs"}
