"""Which model settings a command gives itself, read from its config files and options.

A checkpoint fills in only what the command leaves open, so the CLI needs to tell a value the
command sets (even one equal to the default) from a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

SECTION = "model"


def _section_keys(section: Any) -> set[str]:
    """Setting names of a ``model:`` section (flat, or ``class_path`` / ``init_args``)."""
    if not isinstance(section, Mapping):
        return set()
    keys = {str(key) for key in section if key not in ("class_path", "init_args", "dict_kwargs")}
    for nested in ("init_args", "dict_kwargs"):
        keys |= _section_keys(section.get(nested)) if nested in section else set()
    return keys


def _keys_of_config_text(text: str, subcommand: str, top_level: bool) -> set[str]:
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError:
        return set()
    if top_level and isinstance(content, Mapping):
        content = content.get(subcommand)
    return _section_keys(content.get(SECTION)) if isinstance(content, Mapping) else set()


def _option_keys(argv: Iterable[str]) -> set[str]:
    """Names set by ``--model.<name>`` options (``--model.init_args.<name>`` too)."""
    keys: set[str] = set()
    argv = list(argv)
    for position, token in enumerate(argv):
        if not token.startswith(f"--{SECTION}"):
            continue
        option, _, value = token.partition("=")
        if option == f"--{SECTION}":  # a whole section, as YAML/JSON text or a file
            if not value and position + 1 < len(argv):
                value = argv[position + 1]
            keys |= _section_keys(_load_section(value))
        elif option.startswith(f"--{SECTION}."):
            name = option[len(SECTION) + 3 :]
            name = name.removeprefix("init_args.").removeprefix("dict_kwargs.")
            keys.add(name.split(".")[0])
    return keys


def _load_section(value: str) -> Any:
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return None
    if isinstance(loaded, str):
        try:
            with open(loaded, encoding="utf-8") as file:
                return yaml.safe_load(file)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
    return loaded


def given_model_settings(config: Mapping[str, Any], subcommand: str, argv: Any) -> set[str]:
    """The names under ``model`` that a parsed LightningCLI command sets itself.

    Args:
        config: the parsed config (``LightningCLI.config``): its ``config`` entries name the
            config files given at the top level and under the subcommand.
        subcommand: e.g. ``"test"``.
        argv: the command's arguments (a list), or the dict / Namespace given instead.
    """
    if isinstance(argv, Mapping):
        section = argv.get(subcommand, argv)
        return _section_keys(section.get(SECTION) if isinstance(section, Mapping) else None)
    keys: set[str] = set()
    for top_level, holder in ((True, config), (False, config.get(subcommand) or {})):
        for path in holder.get("config") or []:
            with open(path.absolute, encoding="utf-8") as file:
                keys |= _keys_of_config_text(file.read(), subcommand, top_level)
    return keys | _option_keys(argv or [])
