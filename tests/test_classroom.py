"""Classroom mode's core: the teacher's password hash, the door (class code, joins, the teacher's login
and console link) whose tries are counted in the store, one-time passes traded for one token per device,
students' names, the settings that
turn it on and fail closed, the policy that decides who sees, starts, cancels and shares each run (and
the store's SQL that obeys it), round-robin fairness between students, the validation split, and the
class board's ranking and its reading on reveal. The store's tests run on SQLite and PostgreSQL."""

import dataclasses
import threading

import pytest
import torch
from workloads import TinyData, make_tiny_data

from softmax_core.book.train import fit
from softmax_core.classroom.auth import (
    MOST_COST_ALLOWED,
    SIGN_IN_LINK_SECONDS,
    ClassDoor,
    ClassroomError,
    ClassroomSettings,
    NotAllowed,
    clean_display_name,
    hash_password,
    is_password_hash,
    load_classroom_settings,
    make_teacher_link,
    new_token,
    token_digest,
    verify_password,
)
from softmax_core.classroom.board import CHALLENGES, Challenge, rank_board, read_reveal
from softmax_core.classroom.names import canonical_name
from softmax_core.classroom.policy import REVEALED, ClassPolicy, Identity
from softmax_core.config import ConfigError, TrainConfig
from softmax_core.dataset_sizes import TRAIN_SET_SIZE, VALIDATION_SIZE
from softmax_core.runs.executors.local import LocalExecutor
from softmax_core.runs.fair_queue import FairQueue
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import EVERYTHING, NameTaken, RunLimitReached, RunRequest, RunStore
from softmax_core.status import RunStatus

PASSWORD = "right horse"
PASSWORD_HASH = hash_password(PASSWORD)


def test_a_password_hash_is_salted_and_checks_only_its_password():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and is_password_hash(first), "a fresh salt each time"
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "scrypt$1$2$3$not-base64$x"), "a broken hash matches nothing"
    assert "correct horse" not in first
    with pytest.raises(ClassroomError, match="must not be empty"):
        hash_password("")


def door_on(url: str, **limits) -> ClassDoor:
    """A fresh door (as a restarted server would make) on the database at ``url``."""
    return ClassDoor(ClassroomSettings("FM-2026", PASSWORD_HASH, **limits), RunStore(url).classroom)


def new_student(store: RunStore, name: str) -> int:
    """A student added straight to the store, keyed as the door keys them."""
    return store.classroom.add_student(name, name_key=canonical_name(name))


def outcome(attempt) -> str:
    try:
        attempt()
    except NotAllowed:
        return "refused unchecked"
    except ClassroomError:
        return "wrong"
    return "in"


def test_parallel_password_guesses_are_each_counted_before_the_check(store_url):
    """Sixteen sessions guessing at once from one address: only five guesses are ever checked."""
    door, results, lock = door_on(store_url), [], threading.Lock()

    def guess() -> None:
        result = outcome(lambda: door.teacher_logs_in("wrong guess", "10.0.0.7"))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("wrong") == 5 and results.count("refused unchecked") == 11, results


def test_a_restart_keeps_the_count_and_one_guessing_address_does_not_lock_the_teacher_out(store_url):
    door = door_on(store_url)
    assert [outcome(lambda: door.teacher_logs_in("wrong", "10.0.0.7")) for _ in range(6)] == ["wrong"] * 5 + [
        "refused unchecked"]
    restarted = door_on(store_url)  # a new server process on the same database
    with pytest.raises(NotAllowed, match=r"too many tries of the teacher password: try again in \d+ s"):
        restarted.teacher_logs_in(PASSWORD, "10.0.0.7")  # even the right password waits, from that address
    assert restarted.is_teacher_session(restarted.sign_in(restarted.teacher_logs_in(PASSWORD, "10.0.0.2")).token), \
        "the teacher's own computer is not blocked by a student's guesses"


def test_the_console_link_lets_the_teacher_in_when_their_address_is_blocked(store_url):
    """Guesses made from the teacher's own computer (a student at it) block the password there: the
    console's link still lets the teacher in. (There is no class-wide block any more to wait out: wrong
    tries elsewhere never refuse the right password, test_wrong_passwords_from_many_addresses...)"""
    door = door_on(store_url)
    for _ in range(5):
        outcome(lambda: door.teacher_logs_in("wrong", "10.0.0.2"))
    with pytest.raises(NotAllowed):
        door.teacher_logs_in(PASSWORD, "10.0.0.2")
    link = make_teacher_link(RunStore(store_url).classroom)  # what `python -m softmax_core teacher-link` does
    session = door.sign_in(link).token
    assert door.is_teacher_session(session) and not door.is_teacher_session(new_token())
    with pytest.raises(ClassroomError, match="used already or has expired"):
        door.sign_in(link)
    door.end_teacher_session(session)
    assert not door.is_teacher_session(session), "signing out ends the session on the server"


def test_wrong_codes_from_many_addresses_never_refuse_the_right_code_at_another(store_url):
    """The door locks only on the guesser: twenty addresses guess the class code until each of them
    waits (200 wrong codes), and a student at a 21st address with the right code joins at once."""
    door = door_on(store_url)
    for address in range(20):
        tries = [outcome(lambda a=address: door.join("FM-0000", f"Eve {a}", f"10.0.2.{a}")) for _ in range(11)]
        assert tries[-1] == "refused unchecked", "each guessing address waits"
    student, handoff = door.join("fm-2026", "Ada", "10.0.3.1")
    assert door.sign_in(handoff).student.name == "Ada" == student.name


def test_wrong_passwords_from_many_addresses_never_refuse_the_teachers_right_password(store_url):
    door = door_on(store_url)
    for address in range(10):  # 50 wrong passwords checked, each address then waits
        tries = [outcome(lambda a=address: door.teacher_logs_in("wrong", f"10.0.1.{a}")) for _ in range(6)]
        assert tries[-1] == "refused unchecked", "each guessing address waits"
    assert door.is_teacher_session(door.sign_in(door.teacher_logs_in(PASSWORD, "10.0.0.2")).token), \
        "the teacher's computer gets in"


def test_with_the_waiting_room_on_fake_joins_fill_only_the_waiting_room(store_url):
    """60 fake joins from 20 addresses: with the waiting room on they wait (at most twice the class size)
    and the class stays empty; only the teacher lets people in, admitted students count, the teacher
    raises the class size, and Refuse all waiting empties the room. A waiting student can do nothing."""
    store = RunStore(store_url)
    door = ClassDoor(ClassroomSettings("FM-2026", PASSWORD_HASH, max_students=5), store.classroom)
    policy, teacher = ClassPolicy(door.settings, store), Identity.teacher()
    policy.set_waiting_room(teacher, True)
    joins = [outcome(lambda n=n: door.join("FM-2026", f"Bot {n}", f"10.0.4.{n % 20}")) for n in range(60)]
    assert joins.count("in") == 10 and joins.count("wrong") == 50, "the waiting room holds 2 x 5"
    with pytest.raises(ClassroomError, match="the waiting room is full"):
        door.join("FM-2026", "Ada", "10.0.5.1")
    waiting = store.classroom.list_students(waiting=True)
    assert len(waiting) == 10 and store.classroom.list_students(waiting=False) == [], "the class is empty"
    bot = Identity(waiting[0].id, waiting[0].name)
    with pytest.raises(NotAllowed, match="waiting for your teacher to let you in"):
        policy.start(bot, [RunRequest(TrainConfig(), "sneak")])
    assert not policy.scope(bot).everyone and policy.scope(bot).student_id is None, "sees no run at all"
    for teachers_power in (lambda: policy.admit(bot, [bot.student_id]), lambda: policy.set_class_size(bot, 99),
                           lambda: policy.refuse_waiting(bot),
                           lambda: policy.remove_students(bot, [waiting[1].id]),
                           lambda: policy.set_waiting_room(bot, False)):
        with pytest.raises(NotAllowed, match="only the teacher"):
            teachers_power()
    ids = [student.id for student in waiting]
    assert policy.admit(teacher, ids[:5]) == ids[:5] and not policy.is_waiting(bot)
    with pytest.raises(ClassroomError, match="room for 0 more of its 5"):
        policy.admit(teacher, ids[5:6])
    policy.set_class_size(teacher, 7)
    assert policy.class_size() == 7 and policy.admit(teacher, ids[5:7]) == ids[5:7]
    assert len(store.classroom.list_students(waiting=False)) == 7, "admitted students count"
    assert policy.refuse_waiting(teacher) == 3 and store.classroom.list_students(waiting=True) == []
    student, handoff = door.join("FM-2026", "Ada", "10.0.5.1")
    assert student.waiting and door.sign_in(handoff).student.name == "Ada", "the room has space again"
    policy.set_waiting_room(teacher, False)
    with pytest.raises(ClassroomError, match=r"this class is full \(7 students\)"):
        door.join("FM-2026", "Bea", "10.0.5.2")
    policy.set_class_size(teacher, 8)
    assert not door.join("FM-2026", "Bea", "10.0.5.2")[0].waiting, "with the room off, a join is let in"
    with pytest.raises(ClassroomError, match="from 1 to 1000"):
        policy.set_class_size(teacher, 0)


def test_the_teacher_removes_several_students_at_once(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()))
    try:
        hours = ClassroomSettings("FM-2026", PASSWORD_HASH, max_run_cost=MOST_COST_ALLOWED,
                                  max_active_cost=MOST_COST_ALLOWED)  # a run still going when Bob is removed
        door = ClassDoor(hours, store.classroom)
        policy = ClassPolicy(door.settings, store, runner)
        ada, bob, cy = (door.join("FM-2026", name, f"10.0.6.{n}")[0] for n, name in enumerate(("Ada", "Bob", "Cy")))
        going = policy.start(Identity(bob.id, bob.name), [RunRequest(TrainConfig(epochs=200, batch_size=1), "hog")])
        assert policy.remove_students(Identity.teacher(), [ada.id, bob.id]) == 1
        assert runner.wait(going[0], timeout=30) and store.get_run(going[0], scope=EVERYTHING).status == "cancelled"
        assert [student.name for student in store.classroom.list_students()] == ["Cy"]
    finally:
        runner.shutdown(timeout=15)


def test_class_code_guesses_and_new_names_per_address_are_limited(store_url):
    door = door_on(store_url, max_students=5)
    results = [outcome(lambda: door.join("FM-2025", "Eve", "10.0.0.9")) for _ in range(11)]
    assert results == ["wrong"] * 10 + ["refused unchecked"], "the code can't be guessed without limit"
    joined = [door.join(" fm-2026 ", name, "10.0.0.5") for name in ("Ada", "Bob", "Cy")]
    assert [student.name for student, _ in joined] == ["Ada", "Bob", "Cy"]
    assert door.student_for(door.sign_in(joined[0][1]).token).name == "Ada" and door.student_for(new_token()) is None
    assert door.student_for(joined[1][1]) is None, "a join's pass is no device token"
    with pytest.raises(NotAllowed, match="too many new names from this computer"):
        door.join("FM-2026", "Ada2", "10.0.0.5")
    with pytest.raises(ClassroomError, match="The name ada is taken"):
        door.join("FM-2026", "ada", "10.0.0.6")
    door.join("FM-2026", "Dee", "10.0.0.6")
    door.join("FM-2026", "Fay", "10.0.0.6")
    with pytest.raises(ClassroomError, match="this class is full"):
        door.join("FM-2026", "Gus", "10.0.0.8")


def test_tokens_are_random_256_bit_and_stored_only_as_digests():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(token) >= 43 for token in tokens)  # 32 bytes as URL-safe base64
    token = next(iter(tokens))
    assert token_digest(token) == token_digest(token) and token not in token_digest(token)
    assert len(token_digest(token)) == 64


def test_display_names_are_trimmed_bounded_visible_and_not_the_teachers():
    assert clean_display_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean_display_name("<b>Bob</b>") == "<b>Bob</b>", "kept as typed: pages show it as text"
    with pytest.raises(ClassroomError, match="display name"):
        clean_display_name("   ")
    with pytest.raises(ClassroomError, match="at most 40 characters"):
        clean_display_name("x" * 41)
    with pytest.raises(ClassroomError, match=r"no invisible or control characters \(U\+202E\)"):
        clean_display_name("Ada\u202eevE")  # right-to-left override: one name dressed as another
    with pytest.raises(ClassroomError, match="kept for the teacher"):
        clean_display_name(" Teacher ")


def test_classroom_mode_is_on_only_with_a_code_from_the_environment_or_secrets():
    assert load_classroom_settings({}, environ={}) is None
    stored = hash_password("pw")
    secrets = {"classroom": {"code": "FM-2026", "teacher_password_hash": stored}}
    from_secrets = load_classroom_settings(secrets, environ={})
    assert (from_secrets.code, from_secrets.teacher_password_hash, from_secrets.max_active_runs) == (
        "FM-2026", stored, 64), "the run count is a second guard: a sweep's largest grid fits"
    assert from_secrets.code_matches(" fm-2026 ") and not from_secrets.code_matches("FM-2025")
    from_env = load_classroom_settings(None, environ={"SOFTMAX_LAB_CLASS_CODE": "abc",
                                                     "SOFTMAX_LAB_TEACHER_PASSWORD": "plain demo",
                                                     "SOFTMAX_LAB_MAX_ACTIVE_RUNS": "5"})
    assert verify_password("plain demo", from_env.teacher_password_hash) and from_env.max_active_runs == 5
    with pytest.raises(ClassroomError, match="`max_active_runs` must be a whole number from 1 to 200"):
        load_classroom_settings({"classroom": {"code": "x", "max_active_runs": 0}}, environ={})


@pytest.mark.parametrize("secrets, message", [
    ({"clasroom": {"code": "FM-2026"}}, r"has a `\[clasroom\]` table: classroom settings belong in `\[classroom\]`"),
    ({"Classroom": {"code": "FM-2026"}}, r"has a `\[Classroom\]` table"),
    ({"code": "FM-2026"}, r"sets `code` outside any table"),
    ({"classroom": {"code": "FM-2026", "max_active_run": 2}}, r"unknown setting `max_active_run` \(did you mean "
                                                              r"`max_active_runs`\?\)"),
    ({"classroom": {"teacher_password_hash": "x"}}, r"has no code"),
])
def test_a_misspelled_classroom_table_fails_closed(secrets, message):
    with pytest.raises(ClassroomError, match=message):
        load_classroom_settings(secrets, environ={})


def class_of(store_url: str, runner: JobRunner | None = None, max_active_runs: int = 3, **limits):
    """A store, a policy over it, and two students Ada and Bob."""
    store = RunStore(store_url)
    policy = ClassPolicy(ClassroomSettings("FM-2026", PASSWORD_HASH, max_active_runs, **limits), store, runner)
    ada, bob = (Identity(new_student(store, name), name) for name in ("Ada", "Bob"))
    return store, policy, ada, bob


def ended_run(store, owner_id, config=None, shared=False, val_acc=0.81, test_acc=0.83):
    """A finished run with stored final metrics, one point and one epoch (test and val accuracy)."""
    config = config or TrainConfig(epochs=1, validation=True)
    run_id = store.create_run(config, "r", owner_id=owner_id)
    result = fit(config.replace(epochs=1, batch_size=100), make_tiny_data())
    store.add_points(run_id, [], epoch=result.epochs[0])
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE runs SET status='finished', final_train_loss=0.4, final_train_acc=0.85, "
                             f"final_val_acc={val_acc}, final_test_acc={test_acc} WHERE id={run_id}")
    store.set_shared(run_id, shared)
    return run_id


def test_a_student_reads_their_own_and_shared_runs_without_test_accuracy_until_the_reveal(store_url):
    store, policy, ada, bob = class_of(store_url)
    adas, shared, private = ended_run(store, ada.student_id), ended_run(store, bob.student_id, shared=True), \
        ended_run(store, bob.student_id)
    seen = policy.reader(ada)
    assert [run.id for run in seen.list_runs()] == [shared, adas], "Bob's private run is not in Ada's query"
    with pytest.raises(KeyError):
        seen.get_run(private)
    assert seen.read_points(private) == [] and seen.read_epochs(private) == []
    run = seen.get_run(adas)
    assert run.final_test_acc is None and run.held_out_acc == 0.81, "validation accuracy where test would be"
    assert run.verdict.checks[-1].name == "0.7 < val_acc <= 1", "the book's checks judged on validation"
    epoch = seen.read_epoch(adas, 1)
    assert epoch.test_acc is None and epoch.confusion is None and epoch.val_acc is not None
    assert all(point.test_acc is None for point in seen.read_points(adas))
    teacher = policy.reader(Identity.teacher()).get_run(adas)
    assert teacher.final_test_acc == 0.83 and teacher.held_out_acc == 0.83, "the teacher always sees both"
    assert policy.reader(None).list_runs() == [], "someone who hasn't joined reads nothing"
    with pytest.raises(NotAllowed):
        policy.set_class_state(ada, REVEALED, True)
    policy.set_class_state(Identity.teacher(), REVEALED, True)
    assert policy.reader(ada).get_run(adas).final_test_acc == 0.83
    assert policy.reader(ada).read_epoch(adas, 1).confusion is not None


def test_a_page_on_the_projector_reads_no_test_accuracy_before_the_reveal_even_for_the_teacher(store_url):
    store, policy, ada, _bob = class_of(store_url)
    run_id = ended_run(store, ada.student_id, shared=True)
    projector = Identity.teacher().on_projector()
    assert projector.is_teacher and not policy.shows_test_accuracy(projector)
    seen = policy.reader(projector)
    assert seen.get_run(run_id).final_test_acc is None and seen.get_run(run_id).held_out_acc == 0.81
    assert all(point.test_acc is None for point in seen.read_points(run_id))
    assert seen.read_epoch(run_id, 1).test_acc is None
    assert policy.reader(Identity.teacher()).get_run(run_id).final_test_acc == 0.83, "off the projector: all"
    assert not policy.shows_test_accuracy(ada.on_projector()), "a student's projector: their own scope"
    policy.set_class_state(Identity.teacher(), REVEALED, True)
    assert policy.reader(projector).get_run(run_id).final_test_acc == 0.83, "after the reveal, the class sees it"


def test_only_the_owner_shares_and_an_unshared_run_leaves_the_classmates_view(store_url):
    store, policy, ada, bob = class_of(store_url)
    run_id = ended_run(store, ada.student_id)
    with pytest.raises(NotAllowed, match="isn't yours to share"):
        policy.share(bob, run_id, True)
    with pytest.raises(NotAllowed):
        policy.share(Identity.teacher(), run_id, True)
    policy.share(ada, run_id, True)
    assert [run.id for run in policy.reader(bob).get_runs([run_id])] == [run_id]
    policy.share(ada, run_id, False)
    assert policy.reader(bob).get_runs([run_id]) == [], "Bob's open Compare polls this query: the run leaves it"


def test_parallel_tabs_cannot_pass_the_active_run_limit_and_a_group_starts_whole(store_url):
    store, policy, ada, bob = class_of(store_url)
    outcomes, lock = [], threading.Lock()

    def start_one() -> None:
        try:
            store.create_runs([RunRequest(TrainConfig(), "tab")], owner_id=ada.student_id, max_active=3)
            result = "started"
        except RunLimitReached:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=start_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("started") == 3 and store.count_active_runs(ada.student_id) == 3
    store.create_runs([RunRequest(TrainConfig(), "one")], owner_id=bob.student_id, max_active=3)
    before = len(store.list_runs(scope=EVERYTHING))
    with pytest.raises(RunLimitReached, match="you have 1 runs queued or training and these are 3 more; this class "
                                              "allows 3 at once"):
        store.create_runs([RunRequest(TrainConfig(), f"seed {seed}") for seed in range(3)],
                          owner_id=bob.student_id, max_active=3)
    assert len(store.list_runs(scope=EVERYTHING)) == before, "a group or sweep that doesn't fit is refused whole"


def test_the_runner_hands_out_students_runs_in_turns_and_the_policy_limits_each(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()))
    try:
        _, policy, ada, bob = class_of(store.url, runner, max_active_runs=2, max_run_cost=10**7,
                                       max_active_cost=10**9)  # a long run that stays queued or training
        config = TrainConfig(epochs=1, batch_size=100)
        adas = [runner.submit(config.replace(seed=seed), owner_id=ada.student_id) for seed in range(6)]
        bobs = [runner.submit(config.replace(seed=seed), owner_id=bob.student_id) for seed in range(2)]
        for run_id in adas + bobs:
            assert runner.wait(run_id, timeout=120)
        started = sorted(adas + bobs, key=lambda run_id: store.get_run(run_id, scope=EVERYTHING).started_at)
        assert started.index(bobs[0]) <= 2 and started.index(bobs[1]) <= 4, f"Bob took turns: {started}"
        assert store.get_run(adas[0], scope=EVERYTHING).config.validation is False
        busy = TrainConfig(epochs=200, batch_size=1)
        held = policy.start(bob, [RunRequest(busy, "long"), RunRequest(busy, "long")])
        assert all(store.get_run(run_id, scope=EVERYTHING).config.validation for run_id in held), \
            "a student's runs hold out val"
        with pytest.raises(RunLimitReached, match="you have 2 runs queued or training; this class allows 2 at once"):
            policy.start(bob, [RunRequest(config, "one more")])
        policy.start(ada, [RunRequest(config, "hers")])  # the limit is each student's own
        with pytest.raises(NotAllowed, match=f"run {held[0]} belongs to another student"):
            policy.cancel(ada, held[0])
        assert store.get_run(held[0], scope=EVERYTHING).is_active, "a refused cancel changes nothing"
        with pytest.raises(NotAllowed, match="join the class first"):
            policy.start(None, [RunRequest(config, "anonymous")])
        assert policy.cancel(bob, held[0]) and policy.cancel(Identity.teacher(), held[1])
    finally:
        runner.shutdown(timeout=15)


def test_removing_a_student_ends_their_token_their_runs_and_their_place_on_the_board(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()))
    try:
        door = ClassDoor(ClassroomSettings("FM-2026", PASSWORD_HASH, max_run_cost=10**7, max_active_cost=10**8),
                         store.classroom)  # a run that is still going when she is removed
        policy = ClassPolicy(door.settings, store, runner)
        student, pass_ = door.join("FM-2026", "Mallory", "10.0.0.3")
        token, link = door.sign_in(pass_).token, door.student_pass(student.id)
        mallory = Identity(student.id, student.name)
        shared = ended_run(store, mallory.student_id, shared=True)
        going = policy.start(mallory, [RunRequest(TrainConfig(epochs=200, batch_size=1), "hog")])
        with pytest.raises(NotAllowed, match="only the teacher can remove a student"):
            policy.remove_student(mallory, mallory.student_id)
        assert policy.remove_student(Identity.teacher(), mallory.student_id) == 1
        assert runner.wait(going[0], timeout=30) and store.get_run(going[0], scope=EVERYTHING).status == "cancelled"
        assert door.student_for(token) is None, "their token signs nobody in, on any device"
        with pytest.raises(ClassroomError, match="used already or has expired"):
            door.sign_in(link)
        assert not store.get_run(shared, scope=EVERYTHING).shared and store.classroom.list_students() == []
        with pytest.raises(RunLimitReached, match="no longer in this class"):
            policy.start(mallory, [RunRequest(TrainConfig(), "after")])
        with pytest.raises(NotAllowed):
            door.student_pass(mallory.student_id)
        with pytest.raises(NotAllowed):
            door.sign_out_everywhere_else(token)
    finally:
        runner.shutdown(timeout=15)


def age_passes(store: RunStore, seconds: float) -> None:
    """Every pass as it will be ``seconds`` from now (the database's clock decides expiry)."""
    from softmax_core.runs.store.schema import passes_table

    with store.engine.begin() as conn:
        conn.execute(passes_table.update().values(expires_at=passes_table.c.expires_at - seconds))


def test_a_sign_in_link_works_once_and_briefly_and_gives_each_browser_its_own_token(store_url):
    door = door_on(store_url)
    student, join_pass = door.join("FM-2026", "Ada", "10.0.0.5")
    first = door.sign_in(join_pass).token
    link = door.student_pass(student.id)
    second = door.sign_in(link)
    assert second.student.name == "Ada" and second.token not in (first, link), "the link is no token"
    with pytest.raises(ClassroomError, match="used already or has expired"):
        door.sign_in(link)  # a second browser, or the history of a shared lab PC
    assert {door.student_for(first).id, door.student_for(second.token).id} == {student.id}
    stale = door.student_pass(student.id)
    age_passes(RunStore(store_url), SIGN_IN_LINK_SECONDS + 1)
    with pytest.raises(ClassroomError, match="used already or has expired"):
        door.sign_in(stale)
    assert door.sign_out_everywhere_else(first) == 1
    assert door.student_for(second.token) is None and door.student_for(first).id == student.id
    door.sign_out_device(first)
    assert door.student_for(first) is None


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


def test_a_pack_is_one_turn_of_one_owners_runs_that_share_a_key():
    queue = FairQueue()
    for run_id, owner, pack in [(1, "ada", "a"), (2, "ada", "a"), (3, "bob", "b"), (4, "ada", "a"), (5, "ada", None),
                                (6, "ada", "a"), (7, "ada", "a")]:
        queue.append(run_id, owner, pack)
    assert queue.take_pack(3) == [1, 2, 4], "up to the limit, oldest first, one turn"
    assert queue.take_pack(3) == [3], "then Bob's turn"
    assert queue.take_pack(3) == [5], "a run without a key trains alone"
    queue.remove(6)
    assert queue.take_pack(3) == [7] and not queue


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
    split, final = tiny_data.validation_split(), held.final
    predicted = (split.images @ final.weights.t() + final.bias).argmax(1)
    assert final.val_acc == pytest.approx((predicted == split.labels).float().mean().item()), \
        "val_acc is the final model's accuracy on the held-out rows"
    assert final.test_acc is not None
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
    return store.get_run(run_id, scope=EVERYTHING)


def test_the_board_ranks_each_students_best_admitted_run_by_validation_accuracy(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    ada, bob, cy = (new_student(store, name) for name in ("Ada", "Bob", "Cy"))
    runs = [finished_run(store, ada, 0.80, 0.83), finished_run(store, ada, 0.84, 0.81),
            finished_run(store, bob, 0.82, 0.82), finished_run(store, bob, 0.95, 0.90, epochs=10),
            finished_run(store, cy, 0.99, 0.99, validation=False)]
    names = {student.id: student.name for student in store.classroom.list_students()}
    board = rank_board(runs, names, CHALLENGES["best-5-epochs"])
    assert [(e.rank, e.student, e.val_acc, e.test_rank) for e in board] == [(1, "Ada", 0.84, 2), (2, "Bob", 0.82, 1)]
    assert board[0].places_moved == -1 and board[1].places_moved == 1
    unrevealed = rank_board([dataclasses.replace(run, finals={**run.finals, "test_acc": None}) for run in runs], names,
                            CHALLENGES["best-5-epochs"])
    assert [(e.student, e.test_rank, e.places_moved) for e in unrevealed] == [("Ada", None, 0), ("Bob", None, 0)]
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
    classroom = store.classroom
    ada = classroom.add_student("Ada", name_key=canonical_name("Ada"))
    with pytest.raises(NameTaken, match="taken"):
        classroom.add_student("ada", name_key=canonical_name("ada"))
    assert classroom.add_device(ada, token_digest("token-a"))
    assert classroom.student_by_device(token_digest("token-a")).name == "Ada"
    assert classroom.student_by_device(token_digest("forged")) is None
    run_id = store.create_run(TrainConfig(), "mine", owner_id=ada)
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.owner_id == ada and not run.shared
    store.set_shared(run_id, True)
    assert store.get_run(run_id, scope=EVERYTHING).shared and store.count_active_runs(ada) == 1
    classroom.set_class_state("challenge", "best-any")
    classroom.set_class_state("challenge", "best-5-epochs")
    assert classroom.class_state() == {"challenge": "best-5-epochs"}


LOOKALIKES = {  # the names that look like a classmate's or the teacher's, each a different trick
    "Cyrillic A": "\u0410lice",
    "Greek Alpha": "\u0391lice",
    "a combining grapheme joiner inside": "Al\u034fice",
    "a variation selector after": "Alice\ufe0f",
    "a Hangul filler inside": "Al\u3164ice",
    "a zero-width space inside": "Al\u200bice",
    "full-width letters": "\uff21\uff4c\uff49\uff43\uff45",
    "capitals": "ALICE",
    "Zo\u00eb decomposed": "Zoe\u0308",
    "Cyrillic e": "t\u0435acher",
    "full-width teacher": "\uff54\uff45\uff41\uff43\uff48\uff45\uff52",
    "Cyrillic e in the teacher": "The t\u0435acher",
    "a Hangul filler alone": "\u3164",
    "a blank Braille pattern alone": "\u2800",
}
THE_NAMES_THEMSELVES = ["Alice", "Zo\u00eb", "teacher"]
HONEST_NAMES = ["Alicia", "Zoe", "\u738b\u5c0f\u660e", "\u0418\u0432\u0430\u043d", "Ali Ce", "Teachers' pet"]


def test_a_name_that_only_looks_like_a_classmates_or_the_teachers_is_refused(tmp_path):
    """The issue's attack: on main 12 of these 14 lookalikes joined a class that has Alice and Zoë (three
    'Alice' rows on the projected board, and a 'teacher'). Honest different names still join; "Zoe"
    without the diaeresis is a different name (the dots show, and both are real names)."""
    door = door_on(f"sqlite:///{tmp_path}/runs.db", max_students=100)
    for number, name in enumerate(["Alice", "Zo\u00eb"]):
        door.join("FM-2026", name, f"10.0.2.{number}")
    joined = {}
    for number, (trick, name) in enumerate([*LOOKALIKES.items(), *((n, n) for n in THE_NAMES_THEMSELVES)]):
        try:
            door.join("FM-2026", name, f"10.0.3.{number}")
            joined[trick] = name
        except NotAllowed:
            raise
        except ClassroomError:
            pass
    assert joined == {}, f"{len(joined)} of {len(LOOKALIKES)} lookalikes (and the names themselves) joined: {joined}"
    for number, name in enumerate(HONEST_NAMES):
        assert door.join("FM-2026", name, f"10.0.4.{number}")[0].name == name
    assert [s.name for s in door.classes.list_students()] == ["Alice", "Zo\u00eb", *HONEST_NAMES]


@pytest.mark.parametrize(("name", "message"), [
    ("\u3164", "display name: it is blank once its invisible characters are taken out"),
    ("\u2800", "display name: it needs at least one letter or digit"),
    (" \u2800 \u3164 ", "display name: it needs at least one letter or digit"),
    ("-_-", "display name: it needs at least one letter or digit"),
    ("Al\u200bice", r"display name: no invisible or control characters \(U\+200B\)"),
    ("t\u0435acher!", "display name: .* is kept for the teacher"),
    ("\uff34\uff48\uff45 \uff54\uff45\uff41\uff43\uff48\uff45\uff52", "display name: .* is kept for the teacher"),
])
def test_a_refused_name_says_why(name, message):
    with pytest.raises(ClassroomError, match=message):
        clean_display_name(name)


def test_the_refusal_of_a_lookalike_names_the_name_as_typed(tmp_path):
    door = door_on(f"sqlite:///{tmp_path}/runs.db")
    door.join("FM-2026", "Alice", "10.0.2.1")
    with pytest.raises(ClassroomError, match="The name \u0410lice is taken in this class, or looks just like one"):
        door.join("FM-2026", "\u0410lice", "10.0.2.2")
    assert clean_display_name("  Al\u034fice ") == "Al\u034fice", "the shown name stays as typed, trimmed"


def test_the_challenge_says_before_a_run_why_it_wont_count_and_sets_settings_up_for_it():
    five = CHALLENGES["best-5-epochs"]
    book = TrainConfig(validation=True)
    assert five.why_not(book) == "10 epochs: this run won't count for the challenge, which allows at most 5"
    assert five.why_not(five.set_up(book)) == "" and five.set_up(book) == book.replace(epochs=5)
    assert "no validation split" in five.why_not(TrainConfig(epochs=3))
    batch = CHALLENGES["book-checks-1024"]
    assert batch.why_not(book) == "batch 256: this run won't count for the challenge, which needs batch 1024"
    assert batch.set_up(book) == book.replace(batch_size=1024)
    assert CHALLENGES["best-any"].why_not(TrainConfig(epochs=40, validation=True)) == ""


def test_the_runs_still_going_are_each_persons_own_active_runs_newest_first(store_url):
    store, policy, ada, bob = class_of(store_url)
    config = TrainConfig(epochs=1, validation=True)
    adas_old, adas_ended, adas_new = (store.create_run(config, "a", owner_id=ada.student_id) for _ in range(3))
    store.end_run(adas_ended, RunStatus.CANCELLED)
    bobs = store.create_run(config, "b", owner_id=bob.student_id)
    store.set_shared(bobs, True)  # Ada may see it, but it isn't hers to watch
    teachers = store.create_run(config, "t")
    assert policy.runs_going(ada, 6) == [adas_new, adas_old]
    assert policy.runs_going(ada, 1) == [adas_new]
    assert policy.runs_going(bob, 6) == [bobs]
    assert policy.runs_going(Identity.teacher(), 6) == [teachers], "the teacher's own, not the class's"
    assert policy.runs_going(None, 6) == [], "someone who hasn't joined sees nothing"
    alone = ClassPolicy(None, store)
    assert alone.runs_going(None, 6) == [teachers], "the single user's: the runs no student started"


def test_a_full_class_and_waiting_room_say_so_in_the_readers_language(store_url):
    from softmax_core.i18n import use_language
    from softmax_core.runs.store import ClassFull

    classroom = RunStore(store_url).classroom
    ada = classroom.add_student("Ada", waiting=True, name_key="ada")
    with use_language("zh"):
        with pytest.raises(ClassFull, match=r"本课堂已满（0 名学生）"):
            classroom.add_student("Bea", max_students=0, name_key="bea")
        with pytest.raises(ClassFull, match=r"等候室已满（1 人在等候）"):
            classroom.add_student("Cy", waiting=True, max_waiting=1, name_key="cy")
        with pytest.raises(ClassFull, match=r"本课堂（共 0 人）还能再容纳 0 人，却选了 1 人"):
            classroom.admit_students([ada], max_students=0)
    with pytest.raises(ClassFull, match=r"this class is full \(0 students\)"):
        classroom.add_student("Bea", max_students=0, name_key="bea")
