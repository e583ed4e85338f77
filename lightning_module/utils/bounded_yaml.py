"""``yaml.safe_load`` of one document that refuses duplicate mapping keys and aliases whose
expansion ("billion laughs") would exceed a bound, checked before anything is built."""

from __future__ import annotations

from typing import Any

import yaml

MAX_NODES = 100_000  # YAML nodes once every alias is expanded, as jsonargparse would copy them
MERGE_KEY = "tag:yaml.org,2002:merge"


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of one document, refusing duplicate keys and alias expansion past
    ``MAX_NODES`` (checked on the node graph, before anything is built from it)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_nodes(root: yaml.Node) -> None:
    """Raise ValueError for a duplicate mapping key, a recursive alias, or more than
    ``MAX_NODES`` nodes with aliases expanded (each shared node counted once per use)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ValueError(f"a recursive alias at line {node.start_mark.line + 1}")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            check_unique_keys(node)
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        for child in children:
            total += expanded(child)
            if total > MAX_NODES:
                raise ValueError(
                    f"its aliases expand to more than {MAX_NODES} values (a YAML alias bomb?)"
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    expanded(root)


def check_unique_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_KEY:
            continue
        line = key.start_mark.line + 1
        if (key.tag, key.value) in seen:
            raise ValueError(
                f"duplicate key {key.value!r} at line {line} (first at line "
                f"{seen[key.tag, key.value]}); a key may appear once per mapping"
            )
        seen[key.tag, key.value] = line
