"""TrainConfig: the book's defaults, one error type naming field and range, presets."""

import math

import pytest

from softmax_core.config import PRESETS, ConfigError, TrainConfig, field_names, preset_config


def test_defaults_are_the_books_run():
    config = TrainConfig()
    assert (config.batch_size, config.lr, config.epochs, config.init_std) == (256, 0.1, 10, 0.01)
    assert (config.optimizer, config.implementation, config.weight_decay, config.momentum) == (
        "sgd", "concise", 0.0, 0.0)


@pytest.mark.parametrize("field, value, allowed", [
    ("batch_size", 0, "1..60000"),
    ("batch_size", 60001, "1..60000"),
    ("batch_size", 2.5, "1..60000"),
    ("batch_size", True, "1..60000"),
    ("lr", 0.0, "(0, 10]"),
    ("lr", -0.1, "(0, 10]"),
    ("lr", math.nan, "(0, 10]"),
    ("lr", math.inf, "(0, 10]"),
    ("lr", 1e6, "(0, 10]"),
    ("lr", "fast", "(0, 10]"),
    ("epochs", 0, "1..500"),
    ("epochs", 501, "1..500"),
    ("init_std", -0.01, "[0, 100]"),
    ("weight_decay", -1.0, "[0, 1]"),
    ("momentum", 1.0, "[0, 1)"),
    ("reports_per_epoch", 0, "1..100"),
    ("seed", -1, "0..2147483647"),
    ("optimizer", "rmsprop", "sgd, adam"),
    ("implementation", "fancy", "concise, scratch"),
    ("device", "tpu", "auto, cpu, cuda"),
])
def test_bad_values_name_the_field_the_value_and_the_range(field, value, allowed):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{field: value})
    message = str(caught.value)
    assert caught.value.field == field
    assert message.startswith(f"{field}:")
    assert allowed in message
    assert "got" in message


def test_whole_floats_become_ints_and_ints_become_floats():
    config = TrainConfig(batch_size=512.0, lr=1)
    assert config.batch_size == 512 and isinstance(config.batch_size, int)
    assert config.lr == 1.0 and isinstance(config.lr, float)


def test_scratch_refuses_adam():
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(implementation="scratch", optimizer="adam")


def test_replace_validates_again():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig().replace(epochs=0)


def test_dict_round_trip_and_unknown_keys():
    config = TrainConfig(batch_size=64, optimizer="adam", seed=7)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert tuple(config.to_dict()) == field_names()
    with pytest.raises(ConfigError, match="learning_rate: unknown setting"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_differences_lists_only_changed_fields():
    assert TrainConfig().differences(TrainConfig(batch_size=1024)) == {"batch_size": (256, 1024)}


def test_presets_are_the_books_exercises():
    assert preset_config("book") == TrainConfig()
    assert preset_config("batch-1024").batch_size == 1024
    assert preset_config("lr-0.4").lr == 0.4
    assert preset_config("epochs-40").epochs == 40
    assert all(preset.title and preset.lesson for preset in PRESETS.values())
    with pytest.raises(ConfigError, match="preset"):
        preset_config("nope")


def test_every_settings_bound_is_written_once_in_config_py():
    """The form, the lessons' inputs and the CLI take their ranges from the Settings: none of the
    whole-number bounds (batch 60000, epochs 500, reports 100, seed 2**31 - 1) is written anywhere else."""
    import io
    import tokenize
    from pathlib import Path

    from softmax_core.config import settings

    bounds = {int(s.high) for s in settings().values() if s.kind is int} | {2**31 - 1}
    root = Path(__file__).resolve().parents[1]
    places = []
    for path in [*root.glob("dashboard/*.py"), *root.glob("softmax_core/**/*.py"), root / "app.py"]:
        if path.name in ("config.py", "dataset_sizes.py"):  # the bounds, and the data set size the batch bound is
            continue
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        places += [f"{path.name}:{t.start[0]} {t.string}" for t in tokens
                   if t.type == tokenize.NUMBER and t.string.replace("_", "").isdigit()
                   and int(t.string.replace("_", "")) in bounds]
    assert places == [], f"a settings bound written again: {places}"


def test_every_problem_of_a_forms_values_is_named_in_words_with_the_bound_it_passes():
    from softmax_core.config import check_fields, describe_problem  # new in the fix for issue 34

    values = {**TrainConfig().to_dict(), "epochs": 1000, "batch_size": -5, "lr": 0.0, "momentum": 1.0,
              "seed": 2.5}
    assert [describe_problem(error) for error in check_fields(values)] == [
        "Batch size: -5 is below the smallest allowed, 1",
        "Learning rate: 0 is too small: it must be above 0",
        "Epochs: 1000 is above the largest allowed, 500",
        "Momentum: 1 is too large: it must be below 1",
        "Seed: 2.5 is not a whole number"]
    assert check_fields(TrainConfig().to_dict()) == []
    [cross] = check_fields({**TrainConfig().to_dict(), "implementation": "scratch", "optimizer": "adam"})
    assert describe_problem(cross) == "Optimizer: the scratch implementation has only hand-written sgd, got 'adam'"
    with pytest.raises(ConfigError, match=r"epochs: must be in 1\.\.500, got 1000"):
        TrainConfig(epochs=1000)  # the CLI's and the store's message is unchanged
