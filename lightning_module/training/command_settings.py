"""Which model settings a command gives itself, read from its config files and options.

A checkpoint fills in only what the command leaves open, so the CLI needs to tell a value the
command sets (even one equal to the default) from a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning_module.training.config_files import CONFIG_OPTIONS, inline_config, option_values

SECTION = "model"


def section_keys(section: Any) -> set[str]:
    """Setting names of a ``model:`` section (flat, or ``class_path`` / ``init_args``)."""
    if not isinstance(section, Mapping):
        return set()
    keys = {str(key) for key in section if key not in ("class_path", "init_args", "dict_kwargs")}
    for nested in ("init_args", "dict_kwargs"):
        keys |= section_keys(section.get(nested)) if nested in section else set()
    return keys


def given_model_settings(argv: Any, contents: Mapping[str, Any], subcommand: str) -> set[str]:
    """The names under ``model`` that a command sets itself, in the order its files and options
    apply (a file before the subcommand holds its settings under the subcommand's name).

    Args:
        argv: the command's arguments (a list), or the dict given to the CLI instead.
        contents: the content of each config file and section file ``argv`` names, by the path
            it gives (``config_files.check_config_files``).
        subcommand: e.g. ``"test"``.
    """
    if isinstance(argv, Mapping):
        section = argv.get(subcommand, argv)
        return section_keys(section.get(SECTION) if isinstance(section, Mapping) else None)
    keys: set[str] = set()
    for option, value, top_level in option_values(list(argv or [])):
        if option in CONFIG_OPTIONS and value in contents:
            content = contents[value]
            if top_level and isinstance(content, Mapping):
                content = content.get(subcommand)
            if isinstance(content, Mapping):
                keys |= section_keys(content.get(SECTION))
        elif option == f"--{SECTION}":  # a whole section: a file, or YAML / JSON text
            keys |= section_keys(contents[value] if value in contents else inline_config(value))
        elif option.startswith(f"--{SECTION}."):
            name = option[len(SECTION) + 3 :]
            name = name.removeprefix("init_args.").removeprefix("dict_kwargs.")
            keys.add(name.split(".")[0])
    return keys
