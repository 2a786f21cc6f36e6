"""export.py: CSV and JSON that read back, and a reproduction script that runs and learns on the real data."""

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from softmax_core.analysis.export import OPTIMIZER_CODE, config_json, metrics_csv, reproduction_script
from softmax_core.config import OPTIMIZERS, ConfigError, TrainConfig
from softmax_core.runs.store import EVERYTHING, MetricPoint


def test_metrics_csv_reads_back():
    points = [MetricPoint.of(47, 0.2, train_loss=0.9, train_acc=0.7),
              MetricPoint.of(235, 1.0, train_loss=0.6, train_acc=0.8, test_acc=0.79)]
    rows = list(csv.DictReader(io.StringIO(metrics_csv(points))))
    assert rows[0] == {"step": "47", "epoch": "0.2", "train_loss": "0.9", "train_acc": "0.7", "test_acc": "",
                       "test_loss": ""}
    assert float(rows[1]["test_acc"]) == 0.79


def test_config_json_reads_back():
    config = TrainConfig(batch_size=1024, lr=0.4, optimizer="adam")
    import json

    assert TrainConfig.from_dict(json.loads(config_json(config))) == config


def test_scripts_carry_the_exact_hyperparameters():
    script = reproduction_script(TrainConfig(batch_size=1024, lr=0.4, momentum=0.9, seed=7))
    assert "batch_size=1024" in script and "lr=0.4, momentum=0.9" in script and "torch.manual_seed(7)" in script
    compile(script, "concise.py", "exec")
    scratch = reproduction_script(TrainConfig(implementation="scratch", lr=0.2, init_std=0.05))
    assert "param -= 0.2 * param.grad / len(y)" in scratch and "torch.normal(0, 0.05" in scratch
    assert "momentum" not in scratch.split("def train_step")[1], "the book's plain update when there is none"
    compile(scratch, "scratch.py", "exec")
    compile(reproduction_script(TrainConfig(optimizer="adam")), "adam.py", "exec")


def test_every_optimizer_exports_as_itself_and_no_other():
    """A new optimizer in the config must get its own export: it is refused, never written as SGD."""
    assert set(OPTIMIZER_CODE) == set(OPTIMIZERS)
    assert "torch.optim.Adam(" in reproduction_script(TrainConfig(optimizer="adam"))
    unknown = TrainConfig()
    object.__setattr__(unknown, "optimizer", "rmsprop")  # as if the config offered one more
    with pytest.raises(ConfigError, match="no export for 'rmsprop'"):
        reproduction_script(unknown)


def test_the_script_trains_like_the_book_on_the_real_data(tmp_path, real_data_dir):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for file in real_data_dir.glob("*.gz"):
        shutil.copy(file, raw / file.name)  # torchvision verifies and uses them: no download
    script = tmp_path / "reproduce.py"
    script.write_text(reproduction_script(TrainConfig(epochs=1)))
    process = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                             timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert process.returncode == 0, process.stderr
    line = process.stdout.strip().splitlines()[-1]
    assert line.startswith("epoch 1: train loss 0.7")  # the book's first epoch: about 0.79
    assert float(line.split("test acc ")[1]) > 0.75


def test_the_scratch_script_reproduces_momentum_and_weight_decay_exactly(tiny_data):
    """Run the emitted update rule beside ScratchTrainer on the same weights and batch: same weights after."""
    import torch

    from softmax_core.book.train import ScratchTrainer

    config = TrainConfig(implementation="scratch", lr=0.3, momentum=0.9, weight_decay=0.01)
    script = reproduction_script(config)
    assert "step += 0.01 * param  # weight decay" in script and "velocity.mul_(0.9)" in script
    trainer = ScratchTrainer(config, torch.Generator().manual_seed(0), torch.device("cpu"))
    W, b = trainer.model.W.detach().clone().requires_grad_(), trainer.model.b.detach().clone().requires_grad_()
    namespace = {"torch": torch, "W": W, "b": b}
    exec(script.split("\ndef predict")[0].split("requires_grad=True)\n", 2)[-1], namespace)  # velocities
    exec("def predict(X):" + script.split("def predict(X):")[1].split("\nfor epoch")[0], namespace)
    images, labels = tiny_data.train_images[:50], tiny_data.train_labels[:50]
    for _ in range(3):
        trainer.train_step(images, labels)
        namespace["train_step"](images, labels)
    assert torch.allclose(W, trainer.model.W, atol=1e-6) and torch.allclose(b, trainer.model.b, atol=1e-6)


def test_a_run_downloads_as_a_notebook_that_reproduces_its_first_epoch(tmp_path, real_data_dir, fashion_mnist,
                                                                       monkeypatch):
    """Train a stored run with the engine, export it, execute the notebook (nbclient, a real kernel, 1
    epoch on the book's data folder): the rerun, recorded by the notebook's train_ch3, matches the run's
    first epoch to the shuffling noise."""
    import nbclient
    import nbformat

    from softmax_core.analysis.export import reproduction_notebook
    from softmax_core.book.train import fit
    from softmax_core.runs.recording_callback import RecordingCallback
    from softmax_core.runs.store import RunStore

    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    config = TrainConfig(epochs=2, seed=3)
    run_id = store.create_run(config, "the book's run")
    store.finish_run(run_id, fit(config, fashion_mnist, [RecordingCallback(store, run_id, flush_seconds=0)]))
    run, stored = store.get_run(run_id, scope=EVERYTHING), store.read_epochs(run_id, scope=EVERYTHING)
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for file in real_data_dir.glob("*.gz"):
        (raw / file.name).symlink_to(file)  # the book's folder: torchvision verifies them and downloads nothing

    text = reproduction_notebook(run, stored, epochs=1, data_root=str(tmp_path / "data"))
    notebook = nbformat.reads(text, as_version=4)
    assert "train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer" in text and "d2l" not in text.replace(
        "d2l.train_ch3", "")
    rerun_db = f"sqlite:///{tmp_path / 'rerun.db'}"
    monkeypatch.setenv("SOFTMAX_LAB_DB", rerun_db)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()

    [rerun] = RunStore(rerun_db).list_runs(scope=EVERYTHING)
    [first] = RunStore(rerun_db).read_epochs(rerun.id, scope=EVERYTHING)
    assert (rerun.config.batch_size, rerun.config.lr, rerun.status) == (256, 0.1, "finished")
    assert first.train_loss == pytest.approx(stored[0].train_loss, abs=0.02)
    assert first.train_acc == pytest.approx(stored[0].train_acc, abs=0.02)
    assert first.test_acc == pytest.approx(stored[0].test_acc, abs=0.03)
    shown = notebook.cells[-1].outputs[0]["data"]["text/plain"]
    assert shown.startswith(f"[(1, {stored[0].train_loss!r}")
