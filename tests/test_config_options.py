"""The training commands' options are generated from the config dataclasses and match them."""

import argparse
import dataclasses
import typing

import pytest

from training.cli import build_parser
from training.config_options import config_from_args, flag, option_fields, option_words
from training.train_anomaly import AnomalyConfig
from training.unet_config import TrainConfig

# (command, its required options, the config it builds, the fields kept off the command line)
COMMANDS = [
    ("unet", ["--category", "c", "--out", "o"], TrainConfig, {"augment"}),
    ("crossval", ["--report", "r"], TrainConfig, {"augment"}),
    (
        "anomaly",
        ["--category", "c", "--out", "o"],
        AnomalyConfig,
        {"taps", "smooth", "global_variance", "global_clusters"},
    ),
]


def _parse(command: str, words: list[str]) -> argparse.Namespace:
    return build_parser(command).parse_args([command, *words])


def _other_values(config_class: type) -> dict[str, typing.Any]:
    """A value unlike the default for every option field."""
    hints = typing.get_type_hints(config_class)
    values = {}
    for field in option_fields(config_class):
        choices = field.metadata.get("choices")
        if choices:
            values[field.name] = next(c for c in choices if c != field.default)
        elif hints[field.name] is str:
            values[field.name] = field.default + "-other"
        else:
            values[field.name] = hints[field.name](field.default * 2 + 3)
    return values


@pytest.mark.parametrize(("command", "required", "config_class", "kept_off"), COMMANDS)
def test_every_field_is_an_option_with_the_dataclass_default(
    command: str, required: list[str], config_class: type, kept_off: set[str]
) -> None:
    names = {f.name for f in dataclasses.fields(config_class)}
    options = {f.name for f in option_fields(config_class)}
    assert names - options == kept_off  # a new field must be an option or be listed here
    hints = typing.get_type_hints(config_class)
    for field in option_fields(config_class):
        assert type(field.default) is hints[field.name], field.name

    args = _parse(command, required)
    for field in option_fields(config_class):
        assert getattr(args, field.name) == field.default, field.name
    assert config_from_args(config_class, args) == config_class()


@pytest.mark.parametrize(("command", "required", "config_class", "kept_off"), COMMANDS)
def test_a_command_line_builds_the_config(
    command: str, required: list[str], config_class: type, kept_off: set[str]
) -> None:
    expected = config_class(**_other_values(config_class))
    words = option_words(expected)
    assert len(words) == 2 * len(option_fields(config_class))
    assert config_from_args(config_class, _parse(command, [*required, *words])) == expected


@pytest.mark.parametrize("command", ["unet", "anomaly", "crossval"])
def test_help_states_each_default_and_choice(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parse(command, ["--help"])
    text = " ".join(capsys.readouterr().out.split())
    config_class = AnomalyConfig if command == "anomaly" else TrainConfig
    for field in option_fields(config_class):
        assert flag(field) in text
        assert f"(default {field.default}" in text, field.name
        for choice in field.metadata.get("choices") or ():
            assert choice in text


def test_explore_takes_the_anomaly_defaults() -> None:
    args = _parse("explore", ["--category", "c", "--out", "o"])
    defaults = AnomalyConfig()
    assert (args.backbone_weights, args.size) == (defaults.backbone_weights, defaults.size)
