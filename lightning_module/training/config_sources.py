"""Which config file or option gave a setting, for errors that name where to fix it: files
and options apply in the order given, each setting only the keys it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lightning_module.training.config_files import (
    CONFIG_OPTION,
    CONFIG_OPTIONS,
    inline_config,
    option_values,
    subcommand_of,
)

# The key a jsonargparse parse error is about, in its wording (no file name is given).
PARSER_KEY = re.compile(r"(?:Parser key|option) [\"']([\w.]+)[\"']")


def sets(content: Any, dotted: str) -> bool:
    """Whether a config mapping sets ``dotted`` (``section.name``); a section's
    ``init_args`` holds its settings too."""
    for part in dotted.split("."):
        if not isinstance(content, Mapping):
            return False
        if part not in content and isinstance(content.get("init_args"), Mapping):
            content = content["init_args"]
        if part not in content:
            return False
        content = content[part]
    return True


def source_of(dotted: str, argv: list[str], contents: Mapping[str, Any]) -> str:
    """Where the command's value of ``dotted`` comes from: the last config file or option in
    ``argv`` that sets it (later ones win, as in the parser), else the default."""
    section, _, name = dotted.partition(".")
    options = (f"--{dotted}", f"--{section}.init_args.{name}") if name else (f"--{dotted}",)
    found = "the default"
    for option, value, top_level in option_values(argv):
        if option in CONFIG_OPTIONS and value in contents:
            content = contents[value]
            if top_level and isinstance(content, Mapping):
                content = content.get(subcommand_of(argv))
            if sets(content, dotted):
                found = value
        elif option in options:
            found = option
        elif name and option == f"--{section}" and value in contents:  # a file of the section
            if sets({section: contents[value]}, dotted):
                found = value
        elif name and option == f"--{section}":  # the section as YAML / JSON text
            if sets({section: inline_config(value)}, dotted):
                found = option
    return found


def parse_error_line(message: str, argv: list[str], contents: Mapping[str, Any]) -> str:
    """jsonargparse's error ``message`` on one line, led by ``--config FILE:`` when the key it
    names came from that file."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    key = PARSER_KEY.search(line)
    if key is not None:
        source = source_of(key.group(1), argv, contents)
        if source in contents:
            return f"{CONFIG_OPTION} {source}: {line}"
    return line
