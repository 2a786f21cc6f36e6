"""export.py: CSV and JSON that read back, and a reproduction script that runs and learns on the real data."""

import csv
import io
import os
import shutil
import subprocess
import sys

from softmax_core.config import TrainConfig
from softmax_core.export import config_json, metrics_csv, reproduction_script
from softmax_core.store import MetricPoint


def test_metrics_csv_reads_back():
    points = [MetricPoint(47, 0.2, 0.9, 0.7), MetricPoint(235, 1.0, 0.6, 0.8, 0.79)]
    rows = list(csv.DictReader(io.StringIO(metrics_csv(points))))
    assert rows[0] == {"step": "47", "epoch": "0.2", "train_loss": "0.9", "train_acc": "0.7", "test_acc": ""}
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
    compile(scratch, "scratch.py", "exec")
    compile(reproduction_script(TrainConfig(optimizer="adam")), "adam.py", "exec")


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
