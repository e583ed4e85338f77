"""Every ``--config FILE`` of a command read and checked before jsonargparse parses it:
missing, a folder, not UTF-8, not YAML or not bounded, empty, or a section of the wrong shape."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from lightning_module.utils.bounded_yaml import load_yaml

CONFIG_OPTION = "--config"
CONFIG_OPTIONS = (CONFIG_OPTION, "-c")
MAX_BYTES = 1 << 20  # a recipe is a few hundred lines; anything near this is not one
SUBCOMMANDS = ("fit", "validate", "test", "predict")
# Sections whose value must be a mapping of settings (LightningCLI's classes and callbacks).
MAPPING_SECTIONS = ("model", "data", "trainer", "early_stopping", "checkpoint", "predictions")


class ConfigFileError(ValueError):
    """A config file the command cannot use; the message names the file."""


def option_values(argv: list[str]) -> Iterator[tuple[str, str, bool]]:
    """(option, value, top_level) of each option in ``argv`` with a value; ``top_level``: it
    comes before the subcommand (a top-level file's settings sit under the subcommand's name).
    """
    top_level = True
    for position, token in enumerate(argv):
        option, equals, value = token.partition("=")
        if token in SUBCOMMANDS and top_level:
            top_level = False
        elif equals and option.startswith("-"):
            yield option, value, top_level
        elif token.startswith("-") and position + 1 < len(argv):
            yield token, argv[position + 1], top_level


def read_config(path: str, option: str = CONFIG_OPTION) -> Any:
    """The content of config file ``path``, refused with ``ConfigFileError`` when unusable."""
    where = f"{option} {path}"
    file = Path(path).expanduser()
    if not file.exists():
        inline = inline_config(path)  # jsonargparse also takes the YAML text itself
        if inline is None:
            raise ConfigFileError(f"{where}: no such file")
        return inline
    if file.is_dir():
        raise ConfigFileError(f"{where}: is a folder, expected a YAML file")
    try:
        with open(file, "rb") as stream:
            blob = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigFileError(f"{where}: cannot be read ({exc.strerror})") from exc
    if len(blob) > MAX_BYTES:
        raise ConfigFileError(f"{where}: larger than {MAX_BYTES} bytes, not a config file")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"{where}: not UTF-8 text (byte 0x{blob[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigFileError(
            f"{where}: not valid YAML: {exc.problem or exc.context}{at}"
        ) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigFileError(f"{where}: {exc}") from None


def inline_config(text: str) -> Mapping[str, Any] | None:
    """``text`` as a config given inline (a YAML mapping), or None when it is not one."""
    try:
        content = load_yaml(text)
    except (yaml.YAMLError, ValueError):
        return None
    return content if isinstance(content, Mapping) else None


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def check_shape(path: str, content: Any, subcommand: str | None, top_level: bool) -> None:
    """Refuse a file that is empty or whose sections (``model:``, ``trainer:``, ...) are not
    mappings of settings."""
    where = f"{CONFIG_OPTION} {path}"
    expected = "a mapping of sections such as model:, data:, trainer:"
    if content is None:
        raise ConfigFileError(f"{where}: the file is empty (or only comments); expected {expected}")
    if not isinstance(content, Mapping):
        raise ConfigFileError(f"{where}: holds {describe(content)}, expected {expected}")
    prefix = ""
    if top_level and subcommand in content:
        content, prefix = content[subcommand], f"{subcommand}."
        if not isinstance(content, Mapping):
            raise ConfigFileError(
                f"{where}: {prefix[:-1]}: holds {describe(content)}, expected {expected}"
            )
    for section in MAPPING_SECTIONS:
        if section in content and not isinstance(content[section], Mapping):
            raise ConfigFileError(
                f"{where}: {prefix}{section}: holds {describe(content[section])}, expected a "
                f"mapping of {section} settings (name: value, one per line)"
            )
    trainer = content.get("trainer") or {}
    callbacks = trainer.get("callbacks")
    entries = callbacks if isinstance(callbacks, list) else [callbacks]
    if callbacks is not None and not all(isinstance(entry, (Mapping, str)) for entry in entries):
        raise ConfigFileError(
            f"{where}: {prefix}trainer.callbacks: holds {describe(callbacks)}, expected a list "
            "of callbacks, each a class path or a mapping with class_path: and init_args:"
        )


def subcommand_of(argv: list[str]) -> str | None:
    return next((token for token in argv if token in SUBCOMMANDS), None)


def check_section_file(option: str, path: str) -> Any:
    """The content of a file given for one section (``--trainer FILE``): a mapping."""
    content = read_config(path, option)
    if not isinstance(content, Mapping):
        section = option.lstrip("-")
        raise ConfigFileError(
            f"{option} {path}: holds {describe(content)}, expected a mapping of {section} "
            "settings (name: value, one per line)"
        )
    return content


def check_config_files(argv: list[str]) -> dict[str, Any]:
    """Read and check every ``--config`` file in ``argv``, and every file given for a whole
    section (``--trainer FILE``); return each path's content."""
    subcommand = subcommand_of(argv)
    contents: dict[str, Any] = {}
    for option, value, top_level in option_values(argv):
        if option in CONFIG_OPTIONS:
            content = read_config(value)
            check_shape(value, content, subcommand, top_level)
            contents[value] = content
        elif option.lstrip("-") in MAPPING_SECTIONS and Path(value).expanduser().exists():
            contents[value] = check_section_file(option, value)
    return contents
