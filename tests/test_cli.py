"""cli.py: exit codes, the live table, JSON lines, and one-line errors instead of tracebacks."""

import io
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

from softmax_core.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, build_parser, main
from softmax_core.cli.train import config_from_args
from softmax_core.runs.store import EVERYTHING


def run_cli(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_preset_then_flags_make_the_config():
    args = build_parser().parse_args(["train", "--preset", "batch-1024", "--lr", "0.2"])
    config = config_from_args(args)
    assert (config.batch_size, config.lr, config.epochs) == (1024, 0.2, 10)


def test_table_run_exits_zero_even_when_the_books_checks_fail(real_data_dir):
    code, out = run_cli("train", "--epochs", "1", "--data-dir", str(real_data_dir))
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[1].split() == ["epoch", "train", "loss", "train", "acc", "test", "acc", "test", "loss",
                                 "seconds"]
    assert lines[2].split()[0] == "1"
    assert "[FAIL] train_loss < 0.5" in out


def test_json_lines_carry_the_epoch_records_and_the_verdict(real_data_dir):
    code, out = run_cli("train", "--epochs", "2", "--json", "--data-dir", str(real_data_dir))
    records = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_OK
    assert [r["epoch"] for r in records[:2]] == [1, 2]
    assert {"epoch", "train_loss", "train_acc", "test_acc"} <= set(records[0])
    assert records[-1]["status"] == "finished"
    assert records[-1]["verdict"]["checks"][0]["name"] == "train_loss < 0.5"


def test_diverged_run_exits_one(real_data_dir):
    code, out = run_cli("train", "--implementation", "scratch", "--init-std", "10", "--json",
                        "--data-dir", str(real_data_dir))
    assert code == EXIT_RUN_FAILED
    assert json.loads(out.splitlines()[-1])["status"] == "diverged"


@pytest.mark.parametrize("argv, expected", [
    (["train", "--lr", "-1"], "error: lr: must be in (0, 10], got -1"),
    (["train", "--batch-size", "0"], "error: batch_size: must be in 1..60000, got 0"),
    (["train", "--batch-size", "many"], "error: argument --batch-size: invalid int value: 'many'"),
    (["train", "--optimizer", "rmsprop"], "error: optimizer: must be one of sgd, adam; got 'rmsprop'"),
    (["train", "--preset", "nope"], "error: argument --preset: invalid choice"),
    (["fly"], "error: argument command: invalid choice"),
    (["runs", "--server.port", "8502"], "error: unrecognized arguments: --server.port 8502"),
    (["serve", "--theme.base", "dark"], "error: serve passes only Streamlit's --server.* flags on, not --theme.base"),
])
def test_bad_input_is_one_line_and_exit_two(argv, expected, capsys):
    code, _ = run_cli(*argv)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert err.startswith(expected) and err.count("\n") == 1


def test_missing_data_offline_is_one_line_naming_the_files(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "softmax_core", "train", "--data-dir", str(tmp_path / "empty")],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env={"PATH": "", "HOME": str(tmp_path), "http_proxy": "http://127.0.0.1:9",
             "https_proxy": "http://127.0.0.1:9", "PYTHONPATH": "."},
    )
    assert process.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in process.stderr
    assert process.stderr.startswith("error: could not download train-images-idx3-ubyte.gz")
    assert "t10k-labels-idx1-ubyte.gz" in process.stderr


def test_store_flag_records_the_run_and_runs_lists_it(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    code, _ = run_cli("train", "--epochs", "1", "--store", "--name", "from the terminal",
                      "--data-dir", str(real_data_dir))
    assert code == EXIT_OK
    code, out = run_cli("runs")
    assert code == EXIT_OK
    assert "finished" in out and "from the terminal" in out and "fail" in out
    code, out = run_cli("runs", "--json")
    record = json.loads(out.splitlines()[0])
    assert record["status"] == "finished" and record["config"]["epochs"] == 1
    assert record["host"] and record["pid"] and record["device"] == "cpu", "where it trained is recorded"
    deleted = run_cli("runs", "--delete", str(record["id"]))
    assert deleted == (EXIT_OK, f"deleted run {record['id']} (from the terminal)\n")
    assert run_cli("runs") == (EXIT_OK, "no runs stored yet\n")
    assert run_cli("runs", "--delete", "999")[0] == EXIT_BAD_INPUT


def test_empty_store_and_corrupt_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    assert run_cli("runs") == (EXIT_OK, "no runs stored yet\n")
    (tmp_path / "bad.db").write_bytes(b"garbage" * 200)
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/bad.db")
    assert run_cli("runs")[0] == EXIT_BAD_INPUT
    assert "corrupt or not a SQLite database" in capsys.readouterr().err


def epoch_rows(table: str) -> list[list[str]]:
    """The epoch rows of the live table, without the seconds column (wall time differs)."""
    return [line.split()[:4] for line in table.splitlines() if line.split() and line.split()[0].isdigit()]


@pytest.mark.parametrize("executor", ["local", pytest.param("ray", marks=pytest.mark.services)])
def test_train_through_an_executor_prints_the_same_table_from_the_store(executor, real_data_dir, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    settings = ["--epochs", "2", "--batch-size", "512", "--data-dir", str(real_data_dir)]
    _, here = run_cli("train", *settings)
    code, through = run_cli("train", *settings, "--executor", executor)
    assert code == EXIT_OK
    assert epoch_rows(through) == epoch_rows(here) and len(epoch_rows(here)) == 2
    assert through.splitlines()[-3:] == here.splitlines()[-3:], "the same verdict"
    code, listed = run_cli("runs", "--json")
    run = json.loads(listed.splitlines()[0])
    assert run["status"] == "finished" and run["pid"] != __import__("os").getpid(), "trained by a worker"
    assert bool(run["node"]) == (executor == "ray")


def test_workers_says_what_the_executor_sees_and_the_runs_going(tmp_path, monkeypatch):
    from softmax_core.config import TrainConfig
    from softmax_core.runs.executors.local import available_cores
    from softmax_core.runs.store import RunStore

    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    going = store.create_run(TrainConfig(), "going")
    store.claim_run(going, "lab-7", 4242)
    store.end_run(store.create_run(TrainConfig(), "done"), "finished")
    code, out = run_cli("workers", "--executor", "local", "--json")
    seen = json.loads(out)
    assert code == EXIT_OK and seen["executor"] == "local"
    assert [node["cpus"] for node in seen["nodes"]] == [available_cores()]
    assert [(run["id"], run["where"]) for run in seen["runs"]] == [(going, "cpu on lab-7, process 4242")]
    code, table = run_cli("workers", "--executor", "local")
    assert "runs going: 1" in table and "lab-7" in table


def test_teacher_password_prints_a_salted_hash_for_secrets_toml(monkeypatch, capsys):
    from softmax_core.classroom.auth import verify_password

    result = subprocess.run([sys.executable, "-m", "softmax_core", "teacher-password"], input="teach me\n",
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "[classroom]" and lines[2].startswith("code = ")
    hashed = lines[3].removeprefix('teacher_password_hash = "').removesuffix('"')
    assert verify_password("teach me", hashed) and "teach me" not in result.stdout
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))  # piped, as above: one line, no prompt
    assert main(["teacher-password"]) == EXIT_BAD_INPUT and "must not be empty" in capsys.readouterr().err


def test_teacher_link_prints_a_one_time_link_that_signs_the_teacher_in(tmp_path, monkeypatch):
    from softmax_core.classroom.auth import ClassDoor, ClassroomError, ClassroomSettings
    from softmax_core.runs.store import RunStore

    url = f"sqlite:///{tmp_path}/runs.db"
    monkeypatch.setenv("SOFTMAX_LAB_DB", url)
    out = io.StringIO()
    assert main(["teacher-link", "--url", "http://192.168.1.20:8501/"], out=out) == EXIT_OK
    link = out.getvalue().strip()
    assert link.startswith("http://192.168.1.20:8501/auth/sign-in?pass=")
    door = ClassDoor(ClassroomSettings("FM-1"), RunStore(url).classroom)
    signed_in = door.sign_in(link.split("=", 1)[1])
    assert signed_in.is_teacher and door.is_teacher_session(signed_in.token)
    with pytest.raises(ClassroomError, match="used already"):
        door.sign_in(link.split("=", 1)[1])


def test_runs_json_into_a_closed_pipe_ends_quietly(tmp_path):
    from softmax_core.config import TrainConfig
    from softmax_core.runs.store import RunRequest, RunStore

    url = f"sqlite:///{tmp_path}/runs.db"
    RunStore(url).create_runs([RunRequest(TrainConfig(), f"run {i}") for i in range(1500)])  # > a pipe's buffer
    shell = f"{sys.executable} -m softmax_core runs --json | head -n 1"
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                            env={**os.environ, "SOFTMAX_LAB_DB": url})
    assert json.loads(result.stdout)["name"] == "run 1499"
    assert result.stderr == "", "no BrokenPipe traceback"


def test_a_stored_run_that_fails_in_the_cli_is_recorded_failed_not_left_running(real_data_dir, tmp_path,
                                                                                 monkeypatch, capsys):
    from softmax_core.runs.store import RunStore

    url = f"sqlite:///{tmp_path}/runs.db"
    monkeypatch.setenv("SOFTMAX_LAB_DB", url)
    code = main(["train", "--store", "--device", "cuda", "--epochs", "1", "--data-dir", str(real_data_dir)])
    assert code == EXIT_BAD_INPUT and "no CUDA GPU is available" in capsys.readouterr().err
    [run] = RunStore(url).list_runs(scope=EVERYTHING)
    assert run.status == "failed" and run.error.startswith("ConfigError: device: cuda was asked for")


def test_a_followed_run_refuses_a_misspelled_hook_as_fit_does():
    from softmax_core.book.train import Callback, send_event

    with pytest.raises(ValueError, match="no callback hook named 'on_epoch_ends'"):
        send_event([Callback()], "on_epoch_ends", None)
