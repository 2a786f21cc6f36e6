"""A notebook's run on the dashboard: ``softmax_core.notebook.train_ch3`` trains the book's model on the
real data in this process (as a Jupyter kernel would) while Chromium watches Compare, whose curves must
grow while it trains and end with both epochs' test accuracy."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from polling import wait_for
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from softmax_core.notebook import train_ch3
from softmax_core.runs.store import EVERYTHING, RunStore

from .conftest import Server, save_screenshot

pytestmark = pytest.mark.e2e
TRACE_LENGTHS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(plot => (plot.data || []).map(t => [t.name || '', (t.x || []).length])))"""


@pytest.fixture
def server(tmp_path, real_data_dir):
    server = Server(f"sqlite:///{tmp_path / 'runs.db'}", real_data_dir, tmp_path / "streamlit.log").start()
    try:
        yield server
    finally:
        server.stop()


class PacedLoader:
    """A DataLoader that waits a little before each batch: a notebook's run that lasts long enough for a
    page to be opened and watched (a bigger model would do the same, with more CPU)."""

    def __init__(self, loader: DataLoader, seconds: float):
        self.loader, self.seconds, self.batch_size = loader, seconds, loader.batch_size

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            time.sleep(self.seconds)
            yield batch


def train_in_the_background(store: RunStore, data, epochs: int, batch_size: int) -> threading.Thread:
    train = TensorDataset(data.train_images.reshape(-1, 1, 28, 28), data.train_labels)
    test = TensorDataset(data.test_images.reshape(-1, 1, 28, 28), data.test_labels)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.normal_(net[1].weight, std=0.01)
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    train_iter = PacedLoader(DataLoader(train, batch_size, shuffle=True), 0.02)
    thread = threading.Thread(target=train_ch3, daemon=True, args=(
        net, train_iter, DataLoader(test, 1000), nn.CrossEntropyLoss(reduction="none"), epochs, trainer),
        kwargs={"store": store, "name": "from my notebook"})
    thread.start()
    return thread


def test_a_notebook_run_grows_on_compare_while_it_trains(page, server, fashion_mnist):
    store = RunStore(server.db_url)
    thread = train_in_the_background(store, fashion_mnist, epochs=2, batch_size=128)  # 469 batches an epoch
    run_id = wait_for(lambda: next((run.id for run in store.list_runs(scope=EVERYTHING)), None), timeout=60)
    page.goto(f"{server.url}/compare?runs={run_id}")
    seen = []  # the train-loss curve's length, each time it changed while the notebook was still training
    while thread.is_alive():
        loss = [n for name, n in page.evaluate(TRACE_LENGTHS_JS).items() if name.endswith("train loss")]
        if loss and loss[0] and (not seen or loss[0] != seen[-1]) and thread.is_alive():
            seen.append(loss[0])
        page.wait_for_timeout(250)
    thread.join()
    assert len(seen) >= 2 and seen == sorted(seen), f"the curve should grow while it trains: {seen}"
    page.wait_for_function(f"""() => Object.entries(({TRACE_LENGTHS_JS})())
        .some(([name, n]) => name.endsWith('test acc') && n === 2)""", timeout=30_000)
    assert store.get_run(run_id, scope=EVERYTHING).status == "finished"
    assert "from my notebook" in page.inner_text("body")
    save_screenshot(page, "notebook-run-on-compare")
