"""Sweeps: the spec refuses what TrainConfig refuses and grids over the limit; on the real data a 2 x 2 grid
with 2 seeds and 2 epochs, whose heatmap shows exactly the stored final metrics and whose reading follows
from the numbers; cancelling a sweep ends every queued and running run; the CLI's JSON summary."""

import io
import json
import re
import statistics

import pytest
from polling import wait_for
from workloads import TinyData

from dashboard.charts import build_sweep_figure
from softmax_core.analysis.sweeps import (
    SweepError,
    SweepGrid,
    SweepSpec,
    best_lr_by_batch,
    cancel_sweep,
    describe_smaller_grid,
    heat_cells,
    is_log_spaced,
    parse_values,
    read_sweep,
    submit_sweep,
)
from softmax_core.cli import main
from softmax_core.config import TrainConfig
from softmax_core.runs.executors.local import LocalExecutor
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import EVERYTHING, RunRecord, RunStore
from softmax_core.status import RunStatus


def test_the_spec_checks_every_value_and_the_grids_size():
    assert parse_values("lr", "0.03, 0.1,0.3") == (0.03, 0.1, 0.3)
    assert parse_values("batch_size", "64,256") == (64, 256)
    assert parse_values("batch_size", "512，1024") == (512, 1024), "a Chinese input method's comma"
    assert parse_values("lr", "０．１、0.3") == (0.1, 0.3), "full-width digits and point, the enumeration comma"
    with pytest.raises(SweepError, match="Learning rate values: 'fast' is not a number"):
        parse_values("lr", "0.1,fast")
    with pytest.raises(SweepError, match="each value once"):
        parse_values("lr", "0.1,0.1")
    with pytest.raises(SweepError, match=r"Learning rate values: must be in \(0, 10\], got 20"):
        SweepSpec(TrainConfig(), {"lr": (0.1, 20.0)})
    with pytest.raises(SweepError, match="'optimizer' can't be swept"):
        SweepSpec(TrainConfig(), {"optimizer": ("sgd", "adam")})
    spec = SweepSpec(TrainConfig(epochs=3, seed=5), {"batch_size": (64, 256), "lr": (0.1, 0.3, 1.0)}, seeds=2)
    assert spec.size == 12 and len(spec.configs()) == 12
    assert {config.seed for _, config in spec.configs()} == {5, 6}
    assert spec.total_steps() == 2 * 3 * 3 * (938 + 235)
    too_many = r"the grid has 12 runs \(2 x 3 cells x 2 seeds\); this server allows at most 8"
    with pytest.raises(SweepError, match=too_many):
        spec.check_size(8)
    assert is_log_spaced([0.01, 0.03, 0.1, 0.3]) and is_log_spaced([64, 256, 1024])
    assert not is_log_spaced([0.0, 0.5, 0.9]) and not is_log_spaced([1, 2, 3])


def made_up_run(run_id: int, lr: float, loss: float) -> RunRecord:
    """A finished run of a one-axis sweep over lr, with only what the reading reads."""
    return RunRecord(id=run_id, name="r", config=TrainConfig(lr=lr), status=RunStatus.FINISHED, created_at=0.0,
                     started_at=0.0, ended_at=1.0, error=None,
                     finals={"train_loss": loss, "train_acc": 0.8, "test_acc": 0.8}, verdict=None,
                     diverged_step=None, diverged_epoch=None,
                     steps_per_epoch=1, total_steps=1, tags={"axes": ["lr"], "cell": {"lr": lr}, "seeds": 2})


@pytest.mark.parametrize("second_losses, word", [
    ((0.50, 0.52), "well beyond"),  # a margin of 0.12 against a spread of 0.014
    ((0.40, 0.44), "beyond"),  # 0.03 against 0.028
    ((0.38, 0.45), "within"),  # 0.025 against 0.049
])
def test_the_best_cells_margin_is_weighed_against_the_seeds_spread(second_losses, word):
    runs = [made_up_run(1, 0.1, 0.39), made_up_run(2, 0.1, 0.39), made_up_run(3, 0.3, second_losses[0]),
            made_up_run(4, 0.3, second_losses[1])]
    reading = read_sweep(SweepGrid.from_runs(runs))
    assert f": {word} the seeds' spread" in reading[1], reading[1]


@pytest.fixture
def runner(tmp_path):
    made = []

    def make(data_source=None):
        store = RunStore(f"sqlite:///{tmp_path}/runs.db")
        runner = JobRunner(store, LocalExecutor(store.url, workers=2, threads_per_worker=1,
                                                data_source=data_source or TinyData()))
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.shutdown(timeout=15)


def test_a_real_2x2_grid_shows_the_stored_metrics_and_reads_what_they_say(runner, real_data_dir):
    from softmax_core.runs.run_driver import load_local_data

    jobs = runner(load_local_data)
    spec = SweepSpec(TrainConfig(epochs=2, device="cpu"), {"batch_size": (256, 1024), "lr": (0.1, 0.4)}, seeds=2)
    sweep_id, run_ids = submit_sweep(jobs.submit_many, spec)
    for run_id in run_ids:
        assert jobs.wait(run_id, timeout=300)
    runs = jobs.store.runs_tagged("sweep", sweep_id, scope=EVERYTHING)
    assert sorted(run.id for run in runs) == sorted(run_ids) and all(r.status == RunStatus.FINISHED for r in runs)
    by_cell = {}
    for run in runs:  # grouped here from the configs, not through the sweep's own code
        by_cell.setdefault((run.config.batch_size, run.config.lr), []).append(run)
    grid = SweepGrid.from_runs(runs)
    for metric in ("final_train_loss", "final_test_acc"):
        cells = heat_cells(grid, metric, "batch_size", "lr")
        expected = {key: statistics.fmean(getattr(r, metric) for r in group) for key, group in by_cell.items()}
        assert {(c.x, c.y): c.mean for c in cells} == pytest.approx(expected)
        assert all(c.n == 2 for c in cells)
        figure = build_sweep_figure(cells, "batch", "lr", metric, log_x=True, log_y=True)
        heat = figure.data[0]
        assert dict(zip(zip(heat.x, heat.y), heat.marker.color)) == pytest.approx(expected)
    losses = {key: statistics.fmean(r.final_train_loss for r in group) for key, group in by_cell.items()}
    ranked = sorted(losses, key=losses.get)
    passing = [key for key, group in by_cell.items() if all(r.verdict.passed for r in group)]
    reading = read_sweep(grid)
    if passing:
        assert reading[0].startswith(f"{len(passing)} of 4 finished cells pass")
    else:
        assert reading[0].startswith("None of the 4 finished cells passes")
    best, second = ranked[0], ranked[1]
    assert f"{losses[best]:.4f} at batch {best[0]}, lr {best[1]:g}" in reading[1]
    margin = losses[second] - losses[best]
    assert f"{margin:.4f} below the next cell" in reading[1]
    assert any(f": {word} the seeds' spread" in reading[1] for word in ("well beyond", "beyond", "within"))
    best_lr = {batch: min((lr for b, lr in losses if b == batch), key=lambda lr: losses[(batch, lr)])
               for batch in (256, 1024)}
    assert best_lr_by_batch(grid, grid.cells) == best_lr
    assert f"batch 256: lr {best_lr[256]:g}, batch 1024: lr {best_lr[1024]:g}" in reading[2]
    assert "the linear-scaling rule says 4x" in reading[2]


def test_cancelling_one_cell_of_a_packed_sweep_and_then_the_sweep(runner):
    jobs = runner()
    spec = SweepSpec(TrainConfig(epochs=200, batch_size=1), {"lr": (0.01, 0.03, 0.1), "momentum": (0.0, 0.5)})
    _, run_ids = submit_sweep(jobs.submit_many, spec)
    store = jobs.store
    wait_for(lambda: all(store.get_run(i, scope=EVERYTHING).last_step > 0 for i in run_ids),
             what="the six cells training")
    packs = {(run.status, run.pack_size) for run in store.get_runs(run_ids, scope=EVERYTHING)}
    assert packs == {(RunStatus.RUNNING, 6)}, "one pack"
    assert jobs.cancel(run_ids[0]) and jobs.wait(run_ids[0], timeout=5)
    steps = {run.id: run.last_step for run in store.get_runs(run_ids[1:], scope=EVERYTHING)}
    wait_for(lambda: all(run.last_step > steps[run.id] for run in store.get_runs(run_ids[1:], scope=EVERYTHING)),
             what="the other cells to go on")
    assert store.get_run(run_ids[0], scope=EVERYTHING).status == RunStatus.CANCELLED
    assert cancel_sweep(jobs.cancel, run_ids) == 5
    for run_id in run_ids:
        assert jobs.wait(run_id, timeout=5)
    assert {store.get_run(i, scope=EVERYTHING).status for i in run_ids} == {RunStatus.CANCELLED}


def test_the_cli_sweep_prints_one_object_per_run_then_the_grid(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(real_data_dir))
    out = io.StringIO()
    code = main(["sweep", "--lr", "0.1,0.3", "--epochs", "1", "--batch-size", "512", "--json"], out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0 and [r["event"] for r in records] == ["run", "run", "summary"]
    summary = records[-1]
    assert summary["axes"] == ["lr"] and [c["cell"] for c in summary["cells"]] == [{"lr": 0.1}, {"lr": 0.3}]
    for cell in summary["cells"]:
        run = next(r for r in records[:2] if r["cell"] == cell["cell"])
        assert cell["final_train_loss"] == {"mean": run["final_train_loss"], "std": 0.0, "n": 1}
    assert summary["reading"][1].startswith("The lowest final train loss is")


def test_a_default_grid_centres_on_the_forms_values_and_a_grid_over_the_limits_says_what_fits():
    from softmax_core.analysis.sweeps import default_values, describe_smaller_grid, largest_grid_that_fits
    from softmax_core.classroom.budget import estimate_request

    assert default_values("batch_size", 256) == (128, 256, 512) and default_values("lr", 0.1) == (0.03, 0.1, 0.3)
    spec = SweepSpec(TrainConfig(validation=True), {"batch_size": (32, 64, 128), "lr": (0.01, 0.03, 0.1)})
    estimate = estimate_request([config for _, config in spec.configs()], run_limit=10_000, budget=40_000)
    assert not estimate.fits  # batch 32 alone is 15,630 book steps
    smaller = largest_grid_that_fits(spec, estimate.admits)
    assert smaller.axes == {"batch_size": (64, 128), "lr": (0.01, 0.03, 0.1)}
    assert estimate.admits([config for _, config in smaller.configs()])
    assert describe_smaller_grid(spec, smaller) == ("at most 6 runs fit: try 2 batch sizes × 3 learning rates "
                                                    "(batch 64, 128; lr 0.01, 0.03, 0.1), or ask your teacher")
    assert largest_grid_that_fits(spec, lambda configs: False) is None


def made_up_grid_run(run_id: int, batch: int, lr: float, loss: float) -> RunRecord:
    """A finished run of a batch size x learning rate sweep, with only what the reading reads."""
    cell = {"batch_size": batch, "lr": lr}
    return RunRecord(id=run_id, name="r", config=TrainConfig(batch_size=batch, lr=lr), status=RunStatus.FINISHED,
                     created_at=0.0, started_at=0.0, ended_at=1.0, error=None,
                     finals={"train_loss": loss, "train_acc": 0.8, "test_acc": 0.8}, verdict=None,
                     diverged_step=None, diverged_epoch=None, steps_per_epoch=1, total_steps=1,
                     tags={"axes": ["batch_size", "lr"], "cell": cell, "seeds": 2})


def numbers_in(text: str) -> list[float]:
    return sorted(float(x) for x in re.findall(r"\d+\.\d+|\d+", text))


@pytest.mark.parametrize("losses, seeds", [
    ({(256, 0.1): 0.47, (256, 0.4): 0.52, (1024, 0.1): 0.61, (1024, 0.4): 0.49}, 2),  # the best lr grows 4x
    ({(256, 0.1): 0.47, (256, 0.4): 0.52, (1024, 0.1): 0.55, (1024, 0.4): 0.58}, 1),  # it stays, one seed
    ({(64, 0.3): 0.45, (64, 0.1): 0.48, (256, 0.1): 0.50, (256, 0.3): 0.53, (1024, 0.3): 0.6, (1024, 0.1): 0.55},
     2),  # it falls back: no steady growth
])
def test_the_sweeps_reading_in_chinese_holds_the_english_numbers_in_the_books_terms(losses, seeds):
    from softmax_core.i18n import use_language

    runs = [made_up_grid_run(len(losses) * seed + i, batch, lr, loss + 0.003 * seed)
            for seed in range(seeds) for i, ((batch, lr), loss) in enumerate(losses.items())]
    grid = SweepGrid.from_runs(runs)
    english = read_sweep(grid)
    with use_language("zh"):
        chinese = read_sweep(grid)
    assert len(chinese) == len(english) == 3
    for english_line, chinese_line in zip(english, chinese):
        assert numbers_in(chinese_line) == numbers_in(english_line), (english_line, chinese_line)
        assert not re.search(r"[A-Za-z]", chinese_line), chinese_line  # not even 'lr', 'std' or 'x'
    assert "训练损失" in chinese[0] and "最终训练损失" in chinese[1]
    assert "批量大小" in chinese[2] and "学习率" in chinese[2] and "线性缩放规则" in chinese[2]


def test_spec_errors_and_what_fits_in_chinese():
    from softmax_core.i18n import use_language

    with use_language("zh"), pytest.raises(SweepError, match="学习率取值：'fast' 不是数字"):
        parse_values("lr", "0.1, fast")
    with use_language("zh"), pytest.raises(SweepError, match=r"学习率取值：必须在"):
        SweepSpec(TrainConfig(), {"lr": (20.0,)})
    spec = SweepSpec(TrainConfig(), {"batch_size": (64, 128, 256), "lr": (0.03, 0.1, 0.3)}, 2)
    smaller = SweepSpec(TrainConfig(), {"batch_size": (64, 128), "lr": (0.03, 0.1, 0.3)}, 1)
    with use_language("zh"):
        said = describe_smaller_grid(spec, smaller)
    assert said == ("最多能容纳 6 次运行：试试 2 个批量大小 × 3 个学习率（批量大小 64，128；学习率 0.03，0.1，0.3），"
                    "或者问问你的老师")
