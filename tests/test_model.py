"""model.py: the two models, their init, and the naive versus stable softmax."""

import torch
from torch import nn

from softmax_core.book.model import (
    ScratchSoftmaxRegression,
    build_concise_model,
    class_templates,
    naive_cross_entropy,
    naive_softmax,
    stable_log_softmax,
)


def test_concise_model_is_the_books_sequential():
    model = build_concise_model(0.01, torch.Generator().manual_seed(0))
    assert isinstance(model[0], nn.Flatten) and isinstance(model[1], nn.Linear)
    assert model[1].weight.shape == (10, 784)
    assert abs(float(model[1].weight.detach().std()) - 0.01) < 0.0005
    assert float(model[1].bias.detach().abs().max()) <= 1 / 28  # PyTorch's default bound 1/sqrt(784)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_init_depends_only_on_the_generator():
    first = build_concise_model(0.01, torch.Generator().manual_seed(5))
    torch.manual_seed(123)  # the global RNG must not matter
    second = build_concise_model(0.01, torch.Generator().manual_seed(5))
    assert torch.equal(first[1].weight, second[1].weight) and torch.equal(first[1].bias, second[1].bias)


def test_scratch_model_shapes_and_templates():
    model = ScratchSoftmaxRegression(0.01, torch.Generator().manual_seed(0))
    assert model.W.shape == (784, 10) and torch.equal(model.b, torch.zeros(10))
    assert torch.equal(class_templates(model), model.W.detach().t())


def test_naive_softmax_overflows_where_the_stable_form_does_not():
    logits = torch.tensor([[100.0, 0.0, -5.0]])
    assert torch.isnan(naive_softmax(logits)).any()
    stable = stable_log_softmax(logits)
    assert torch.isfinite(stable).all()
    assert torch.allclose(stable, torch.log_softmax(logits, 1))


def test_naive_cross_entropy_underflows_to_infinity():
    logits = torch.tensor([[0.0, -200.0]])
    loss = naive_cross_entropy(naive_softmax(logits), torch.tensor([1]))
    assert torch.isinf(loss).all()
    assert torch.isfinite(nn.CrossEntropyLoss()(logits, torch.tensor([1])))


def test_naive_and_stable_agree_on_small_logits():
    logits = torch.randn(5, 10, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(naive_softmax(logits).log(), stable_log_softmax(logits), atol=1e-6)
