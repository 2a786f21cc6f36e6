"""What a person takes away from a run: its metrics as CSV, its config as JSON, a short plain-PyTorch
script (the book's section 3.7 code, with the run's exact hyperparameters) that reproduces it, and the
same as a Jupyter notebook (``reproduction_notebook``): the book's cells, trained by
``softmax_core.notebook.train_ch3`` (so the rerun shows on the dashboard too), then the stored epochs
beside the new ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from softmax_core.config import ConfigError, TrainConfig
from softmax_core.metric_registry import METRICS, Split, shown_to

CSV_COLUMNS = ("step", "epoch", *(metric.name for metric in METRICS))


def metrics_csv(points: Sequence, test_accuracy: bool = True) -> str:
    """Progress points (``MetricPoint``s) as CSV text: step, epoch and a column for each of the registry's
    metrics, an epoch-end metric empty mid-epoch. Without ``test_accuracy`` (a student before the reveal)
    no column of the test split is there at all; a validation column is there when the run held out a
    validation split."""
    columns = ["step", "epoch"] + [m.name for m in METRICS if shown_to(m.split, test_accuracy) and (
        m.split is not Split.VALIDATION or any(getattr(point, m.name, None) is not None for point in points))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for point in points:
        writer.writerow(["" if getattr(point, name, None) is None else getattr(point, name) for name in columns])
    return out.getvalue()


def config_json(config: TrainConfig) -> str:
    """The full config as pretty JSON (TrainConfig.from_dict reads it back)."""
    return json.dumps(config.to_dict(), indent=2)


def reproduction_script(config: TrainConfig) -> str:
    """A self-contained PyTorch script that trains this config the book's way and prints each epoch."""
    if config.implementation == "scratch":
        model_code = _SCRATCH_MODEL.format(std=config.init_std, update=_scratch_update_code(config))
    else:
        model_code = _CONCISE_MODEL.format(std=config.init_std, optimizer=_optimizer_code(config))
    return _SCRIPT.format(
        settings=", ".join(f"{k}={v!r}" for k, v in config.to_dict().items()),
        seed=config.seed, batch_size=config.batch_size, epochs=config.epochs, model_code=model_code,
    )


def reproduction_notebook(run, stored: Sequence = (), epochs: int | None = None, data_root: str = "../data") -> str:
    """A Jupyter notebook (nbformat 4, as JSON text) that trains ``run``'s config (a RunRecord) with the
    book's code (``epochs``: fewer than the run's, for a quick check) on the data under ``data_root`` (the
    book's folder: torchvision downloads Fashion-MNIST there if it is missing), and shows the run's
    ``stored`` epochs (EpochRecords) after the new ones."""
    import nbformat.v4 as nbf

    config, epochs = run.config, epochs or run.config.epochs
    intro = (f"# Softmax Lab run #{run.id}: {run.name}\n\nReproduces the run with the book's code "
             f"(*Dive into Deep Learning* 3.7) for {epochs} epoch(s): `{', '.join(_settings_of(config))}`. "
             "The order of the shuffled batches differs from the run's, so expect the same numbers to about "
             "±0.01, not to the digit." + ("\n\nThe run held out a validation split; here all 60,000 training "
                                              "images train, as in the book." if config.validation else ""))
    if config.implementation == "scratch":
        cells = [nbf.new_code_cell(reproduction_script(config).split('"""', 2)[2].strip()
                                   .replace('sys.argv[1] if len(sys.argv) > 1 else "data"', repr(data_root))
                                   .replace(f"range({config.epochs})", f"range({epochs})"))]
    else:
        cells = [nbf.new_code_cell(_NOTEBOOK_DATA.format(root=data_root, seed=config.seed,
                                                         batch_size=config.batch_size)),
                 nbf.new_code_cell(_NOTEBOOK_MODEL.format(std=config.init_std, optimizer=_optimizer_code(config))),
                 nbf.new_code_cell(_NOTEBOOK_TRAIN.format(epochs=epochs, name=f"reproduce #{run.id}"))]
    rows = [(epoch.epoch, epoch.train_loss, epoch.train_acc, epoch.test_acc) for epoch in stored][:epochs]
    cells.append(nbf.new_markdown_cell("The run's stored epochs (epoch, train loss, train accuracy, test accuracy):"))
    cells.append(nbf.new_code_cell(f"stored_epochs = {rows!r}\nstored_epochs"))
    notebook = nbf.new_notebook(cells=[nbf.new_markdown_cell(intro), *cells],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}})
    return nbformat_text(notebook)


def nbformat_text(notebook) -> str:
    import nbformat

    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def _settings_of(config: TrainConfig) -> list[str]:
    return [f"{key}={value!r}" for key, value in config.to_dict().items()]


def _scratch_update_code(config: TrainConfig) -> str:
    """The book's update, with weight decay and momentum added the way torch.optim.SGD adds them."""
    if not config.momentum and not config.weight_decay:
        return _BOOK_SGD.format(lr=config.lr)
    decay = f"\n            step += {config.weight_decay!r} * param  # weight decay" if config.weight_decay else ""
    momentum = (f"\n            step = velocity.mul_({config.momentum!r}).add_(step)  # momentum"
                if config.momentum else "")
    return _SGD_WITH_EXTRAS.format(decay=decay, momentum=momentum, lr=config.lr)


OPTIMIZER_CODE = {  # each optimizer the config offers, as torch.optim builds it (a new one must be added here)
    "sgd": "torch.optim.SGD(net.parameters(), lr={lr!r}, momentum={momentum!r}, weight_decay={weight_decay!r})",
    "adam": "torch.optim.Adam(net.parameters(), lr={lr!r}, weight_decay={weight_decay!r})",
}


def _optimizer_code(config: TrainConfig) -> str:
    if config.optimizer not in OPTIMIZER_CODE:
        raise ConfigError("optimizer", f"no export for {config.optimizer!r}; the exported optimizers are "
                          f"{', '.join(OPTIMIZER_CODE)}")
    return OPTIMIZER_CODE[config.optimizer].format(lr=config.lr, momentum=config.momentum,
                                                   weight_decay=config.weight_decay)


_SCRIPT = '''"""Reproduces a Softmax Lab run in plain PyTorch ({settings}).

Usage: python this_script.py DATA_ROOT   (torchvision downloads Fashion-MNIST into DATA_ROOT if missing)
"""
import sys

import torch
from torch import nn
from torch.utils import data
from torchvision import datasets, transforms

torch.manual_seed({seed})
root = sys.argv[1] if len(sys.argv) > 1 else "data"
to_tensor = transforms.ToTensor()
train_set = datasets.FashionMNIST(root, train=True, transform=to_tensor, download=True)
test_set = datasets.FashionMNIST(root, train=False, transform=to_tensor, download=True)
train_iter = data.DataLoader(train_set, batch_size={batch_size}, shuffle=True)
test_iter = data.DataLoader(test_set, batch_size=1024)
{model_code}
for epoch in range({epochs}):
    total_loss, total_correct, total = 0.0, 0, 0
    for X, y in train_iter:
        loss_sum, correct = train_step(X, y)
        total_loss, total_correct, total = total_loss + loss_sum, total_correct + correct, total + len(y)
    with torch.no_grad():
        test_correct = sum(int((predict(X).argmax(1) == y).sum()) for X, y in test_iter)
    print(f"epoch {{epoch + 1}}: train loss {{total_loss / total:.4f}}, "
          f"train acc {{total_correct / total:.4f}}, test acc {{test_correct / len(test_set):.4f}}")
'''

_NOTEBOOK_DATA = '''import torch
from torch import nn
from torch.utils import data
from torchvision import datasets, transforms

torch.manual_seed({seed})
trans = transforms.ToTensor()
mnist_train = datasets.FashionMNIST(root={root!r}, train=True, transform=trans, download=True)
mnist_test = datasets.FashionMNIST(root={root!r}, train=False, transform=trans, download=True)
batch_size = {batch_size}
train_iter = data.DataLoader(mnist_train, batch_size, shuffle=True)
test_iter = data.DataLoader(mnist_test, batch_size, shuffle=False)'''

_NOTEBOOK_MODEL = '''net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std={std!r})


net.apply(init_weights)
loss = nn.CrossEntropyLoss(reduction="none")
trainer = {optimizer}'''

_NOTEBOOK_TRAIN = '''from softmax_core.notebook import train_ch3  # d2l.train_ch3, recording the run for the dashboard

num_epochs = {epochs}
train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer, name={name!r})'''

_CONCISE_MODEL = '''
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
nn.init.normal_(net[1].weight, std={std!r})
loss = nn.CrossEntropyLoss(reduction="none")
updater = {optimizer}
predict = net


def train_step(X, y):
    y_hat = net(X)
    l = loss(y_hat, y)
    updater.zero_grad()
    l.mean().backward()
    updater.step()
    return float(l.detach().sum()), int((y_hat.argmax(1) == y).sum())
'''

_SCRATCH_MODEL = '''
W = torch.normal(0, {std!r}, size=(784, 10), requires_grad=True)
b = torch.zeros(10, requires_grad=True)
velocities = [torch.zeros_like(W), torch.zeros_like(b)]


def predict(X):
    return X.reshape(-1, 784) @ W + b


def softmax(O):  # naive on purpose, as section 3.6: exp overflows for large logits
    O_exp = torch.exp(O)
    return O_exp / O_exp.sum(1, keepdim=True)


def train_step(X, y):
    y_hat = softmax(predict(X))
    l = -torch.log(y_hat[range(len(y)), y])
    l.sum().backward()
    with torch.no_grad():
{update}
    return float(l.detach().sum()), int((y_hat.argmax(1) == y).sum())
'''

_BOOK_SGD = '''        for param in (W, b):
            param -= {lr!r} * param.grad / len(y)  # the book's sgd
            param.grad.zero_()'''

# torch.optim.SGD's weight decay and momentum on the book's gradient (what Softmax Lab's scratch trainer does)
_SGD_WITH_EXTRAS = '''        for param, velocity in zip((W, b), velocities):
            step = param.grad / len(y){decay}{momentum}
            param -= {lr!r} * step
            param.grad.zero_()'''
