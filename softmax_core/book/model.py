"""The two softmax regression models of the book, their weight init, and the naive softmax of 3.6.

``concise`` is section 3.7: ``nn.Sequential(nn.Flatten(), nn.Linear(784, 10))`` trained with
``nn.CrossEntropyLoss``, which computes log-softmax stably (the LogSumExp trick). ``scratch`` is section
3.6: a weight matrix and a bias, the softmax written as ``exp(o) / sum(exp(o))`` and the cross-entropy as
``-log(p[y])``, numerically naive on purpose so that large logits overflow as the book warns.

Initial weights come from an explicit ``torch.Generator``: runs in parallel threads never share the
global random state, and the same seed gives the same initial weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from softmax_core.dataset_sizes import NUM_CLASSES, NUM_FEATURES


def build_concise_model(init_std: float, generator: torch.Generator) -> nn.Sequential:
    """Section 3.7's model: weights ~ N(0, init_std^2), bias as PyTorch's default init draws it."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(NUM_FEATURES, NUM_CLASSES))
    linear = model[1]
    bound = 1.0 / math.sqrt(NUM_FEATURES)  # nn.Linear's default bias init, drawn from our generator
    with torch.no_grad():
        linear.weight.normal_(0.0, init_std, generator=generator)
        linear.bias.uniform_(-bound, bound, generator=generator)
    return model


class ScratchSoftmaxRegression(nn.Module):
    """Section 3.6's model: ``softmax(X W + b)`` with W of shape (784, 10), b starting at zero."""

    def __init__(self, init_std: float, generator: torch.Generator):
        super().__init__()
        weight = torch.empty(NUM_FEATURES, NUM_CLASSES).normal_(0.0, init_std, generator=generator)
        self.W = nn.Parameter(weight)
        self.b = nn.Parameter(torch.zeros(NUM_CLASSES))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``X W + b`` (the softmax is applied by the loss, naively)."""
        return images.reshape(-1, NUM_FEATURES) @ self.W + self.b


def naive_softmax(logits: torch.Tensor) -> torch.Tensor:
    """``exp(o) / sum(exp(o))`` exactly as section 3.6 writes it: overflows for logits above ~88."""
    exp = torch.exp(logits)
    return exp / exp.sum(1, keepdim=True)


def naive_cross_entropy(probabilities: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``-log(p[y])`` per example, as section 3.6: log(0) = -inf when p underflows."""
    return -torch.log(probabilities[torch.arange(len(labels), device=labels.device), labels])


def stable_log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """``o - max(o) - log(sum(exp(o - max(o))))``: the LogSumExp form of section 3.7.2, always finite."""
    shifted = logits - logits.max(1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(1, keepdim=True))


def class_templates(model: nn.Module) -> torch.Tensor:
    """The weights as ten 784-pixel rows, one per class, detached on the CPU."""
    if isinstance(model, ScratchSoftmaxRegression):
        weight = model.W.t()
    else:
        weight = model[1].weight
    return weight.detach().to("cpu", torch.float32).clone()


def linear_logits(images: torch.Tensor, weights, bias) -> torch.Tensor:
    """Logits of softmax regression from stored parameters: ``X W^T + b`` with W as (10, 784) rows."""
    weights = torch.as_tensor(weights, dtype=images.dtype)
    bias = torch.as_tensor(bias, dtype=images.dtype)
    return torch.addmm(bias, images.reshape(len(images), -1), weights.t())
