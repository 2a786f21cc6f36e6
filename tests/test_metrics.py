"""metrics.py: counts, confusion, per-class accuracy, confident mistakes, the book's verdict."""

import math

import torch

from softmax_core.book.metrics import (
    confusion_matrix,
    count_correct,
    judge_book_checks,
    most_confident_mistakes,
    per_class_accuracy,
)


def test_accuracy_and_confusion_matrix():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 2])
    assert int(count_correct(logits, labels)) == 2
    confusion = confusion_matrix(logits.argmax(1), labels, num_classes=3)
    assert confusion.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    assert per_class_accuracy(confusion).tolist() == [1.0, 0.5, 0.0]


def test_per_class_accuracy_of_an_absent_class_is_zero():
    confusion = torch.tensor([[2, 0], [0, 0]])
    assert per_class_accuracy(confusion).tolist() == [1.0, 0.0]


def test_most_confident_mistakes_come_first():
    logits = torch.tensor([[0.0, 9.0], [0.0, 1.0], [5.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 0, 1])
    mistakes = most_confident_mistakes(logits, labels, count=5)
    assert [m.index for m in mistakes] == [0, 1]
    assert mistakes[0].true_label == 0 and mistakes[0].predicted_label == 1
    assert mistakes[0].confidence > mistakes[1].confidence > 0.5
    assert math.isclose(sum(mistakes[0].probabilities), 1.0, rel_tol=1e-6)


def test_book_checks_pass_at_the_books_numbers():
    verdict = judge_book_checks(0.447, 0.848, 0.83)
    assert verdict.passed and not verdict.failed
    assert verdict.summary().startswith("pass")


def test_batch_1024_verdict_names_the_failed_check_and_its_value():
    verdict = judge_book_checks(0.522, 0.83, 0.82)
    assert not verdict.passed
    assert [check.name for check in verdict.failed] == ["train_loss < 0.5"]
    assert verdict.failed[0].text == "train loss 0.522 is not below 0.5"


def test_nan_fails_every_check_and_accuracy_bounds_are_half_open():
    assert len(judge_book_checks(math.nan, math.nan, math.nan).failed) == 3
    assert not judge_book_checks(0.1, 0.7, 0.9).passed  # 0.7 itself is not above 0.7
    assert judge_book_checks(0.1, 1.0, 1.0).passed


def test_verdict_round_trips_through_a_dict():
    verdict = judge_book_checks(0.6, 0.8, 0.65)
    assert type(verdict).from_dict(verdict.to_dict()) == verdict
