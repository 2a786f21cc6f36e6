"""What the threat model (docs/threat-model.md) says can't be hidden, shown on the real data: a classmate's
shared run lets a student compute its test accuracy before the teacher's reveal, from what Inspect must
show (the run's weights) and the public Fashion-MNIST test set. Hiding the number hides nothing more."""

from __future__ import annotations

import pytest
import torch

from softmax_core.book.train import fit
from softmax_core.classroom.auth import ClassroomSettings
from softmax_core.classroom.names import canonical_name
from softmax_core.classroom.policy import ClassPolicy, Identity
from softmax_core.config import TrainConfig
from softmax_core.runs.store import RunStore


def test_a_shared_runs_weights_and_the_public_test_set_give_its_hidden_test_accuracy(tmp_path, fashion_mnist):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    policy = ClassPolicy(ClassroomSettings("otter-maple-crane-violin-407"), store)
    ada, bob = (Identity(store.classroom.add_student(name, f"digest {name}", name_key=canonical_name(name)), name)
                for name in ("Ada", "Bob"))
    config = TrainConfig(epochs=1, validation=True, device="cpu")
    result = fit(config, fashion_mnist)
    run_id = store.create_run(config, "Bob's run", owner_id=bob.student_id)
    store.add_points(run_id, [], epoch=result.epochs[0])
    store.set_shared(run_id, True)

    seen = policy.reader(ada).read_epoch(run_id, 1)
    assert seen.test_acc is None, "before the reveal the number itself is hidden from Ada"
    logits = fashion_mnist.test_images @ seen.weights.T + seen.bias
    computed = float((logits.argmax(dim=1) == fashion_mnist.test_labels).float().mean())
    assert computed == pytest.approx(result.epochs[0].test_acc, abs=1e-4), "yet Ada computes it exactly"
    assert isinstance(seen.weights, torch.Tensor) and seen.weights.shape == (10, 784)
