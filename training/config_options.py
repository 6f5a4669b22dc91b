"""Command-line options generated from a configuration dataclass, so an option is written once.

A field declared with `option(default, help)` becomes `--<name-with-dashes>` (or the `flag`
given): its type and default come from the field, `choices` from the metadata, and the help
says the default unless it already names `%(default)s`. Fields declared plainly stay off the
command line and keep their dataclass defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Iterable, Sequence
from typing import Any

OPTION_TYPES = (int, float, str)


def option(
    default: Any, help: str, *, choices: Sequence[str] | None = None, flag: str | None = None
) -> Any:
    """A dataclass field that is also a command-line option."""
    return dataclasses.field(
        default=default, metadata={"help": help, "choices": choices, "flag": flag}
    )


def option_fields(config_class: type) -> list[dataclasses.Field]:
    """The fields of `config_class` that are command-line options, in declaration order."""
    return [f for f in dataclasses.fields(config_class) if "help" in f.metadata]


def flag(field: dataclasses.Field) -> str:
    """The option string of `field`: its metadata's `flag`, else `--` and the dashed name."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_class: type,
    only: Iterable[str] | None = None,
) -> None:
    """Add one option per option field of `config_class` (those named in `only`, if given)."""
    hints = typing.get_type_hints(config_class)
    wanted = None if only is None else set(only)
    for field in option_fields(config_class):
        if wanted is not None and field.name not in wanted:
            continue
        kind = hints[field.name]
        if kind not in OPTION_TYPES:
            raise TypeError(f"{config_class.__name__}.{field.name}: {kind} is not an option type")
        help_text = field.metadata["help"]
        if "%(default)" not in help_text:
            help_text += " (default %(default)s)"
        extra: dict[str, Any] = {}
        if field.metadata.get("choices"):
            extra["choices"] = field.metadata["choices"]
        if kind is not str:
            extra["type"] = kind
        parser.add_argument(
            flag(field), dest=field.name, default=field.default, help=help_text, **extra
        )


def config_from_args(config_class: type, args: argparse.Namespace) -> Any:
    """`config_class` with every option field as parsed into `args` (by `add_config_options`
    with all of them); the fields that are not options keep their defaults."""
    return config_class(**{f.name: getattr(args, f.name) for f in option_fields(config_class)})


def option_words(config: Any) -> list[str]:
    """The command-line words that set every option field of `config` to its value."""
    words = []
    for field in option_fields(type(config)):
        words += [flag(field), str(getattr(config, field.name))]
    return words
