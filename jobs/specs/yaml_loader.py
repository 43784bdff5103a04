"""Safe YAML (and JSON) loading that remembers where every value came from.

PyYAML's loaders forget positions once values are built, accept duplicate keys silently and
expand aliases without limit. Here the event stream is composed into nodes by a small loop
(no recursion, depth and aliases checked as they come), then walked into plain Python values while
recording the line and column of every field path and counting every node visited and every byte
of text built, aliases included: a small file whose aliases expand to more than `max_bytes` is
refused before anything of that size exists. Values no database can keep (text with NUL, integers
beyond 64 bits, NaN and infinities) are reported with their field path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SpecError, SpecIssue

MAX_BYTES = 1_048_576
MAX_NODES = 10_000
MAX_DEPTH = 50
MAX_ALIASES = 1_000
INT64 = (-(2**63), 2**63 - 1)  # what a database's biggest integer column (and JSON readers) can keep

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
_COLLECTION_TAGS = {yaml.SequenceNode: _TAG + "seq", yaml.MappingNode: _TAG + "map"}
_SCALAR_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null")}


@dataclass(frozen=True)
class Location:
    line: int  # 1-based
    column: int  # 1-based


def join(path: str, key: str | int) -> str:
    """`join("inputs", "x")` -> `inputs.x`; `join("locations", 0)` -> `locations[0]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


class Locations:
    """Where each field path's value (and key) starts in the source text."""

    def __init__(self) -> None:
        self.values: dict[str, Location] = {}
        self.keys: dict[str, Location] = {}
        self.replaced: set[str] = set()

    def find(self, path: str, *, key: bool = False) -> Location | None:
        """The position of `path` (its key if asked), else of its nearest ancestor in the file."""
        if self.is_replaced(path):
            return None
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = parent(path)
        return self.values.get(path)

    def is_replaced(self, path: str) -> bool:
        """True when `path` or a field above it was set by `--set` rather than by the file."""
        while path:
            if path in self.replaced:
                return True
            path = parent(path)
        return False

    def replace(self, path: str) -> None:
        """Forget positions under `path`: its value no longer comes from the file (`--set`)."""
        self.replaced.add(path)


def fatal(message: str, mark: Any = None, *, source: str | None = None) -> SpecError:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return SpecError([SpecIssue("", message, line, column, source)])


def parse_yaml(
    text: str, *, source: str | None = None, max_bytes: int = MAX_BYTES
) -> tuple[Any, Locations, list[SpecIssue]]:
    """Parse one YAML document into plain values (dict, list, str, int, float, bool, None).

    Returns the data, the field positions and the non-fatal problems found on the way
    (duplicate keys, unsupported tags). Raises SpecError for text that cannot be read at all.
    """
    if len(text) > max_bytes or len(_utf8(text, source)) > max_bytes:
        raise fatal(
            f"document is larger than {max_bytes:,} bytes; job files are small, "
            "so check that this is the right file",
            source=source,
        )
    try:
        root = _compose(text.removeprefix("\ufeff"), source)
    except yaml.MarkedYAMLError as exc:
        context = f" ({exc.context})" if exc.context else ""
        raise fatal(
            f"invalid YAML: {exc.problem}{context}; check the indentation and quote values "
            "that contain ': ' or start with a special character",
            exc.problem_mark or exc.context_mark,
            source=source,
        ) from None
    except yaml.YAMLError as exc:
        raise fatal(f"invalid YAML: {exc}", source=source) from None
    builder = _Builder(source, max_bytes)
    data = builder.build(root, "", 0) if root is not None else None
    return data, builder.locations, builder.issues


def check_data(data: Any, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Check plain data (a JSON body's job) as `parse_yaml` checks a file, before anything walks it
    recursively: nesting, total size, NULs, integers beyond 64 bits, NaN. Raises SpecError naming
    the first field at fault. Iterative, so a document nested 100,000 deep is just refused."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    size = 0
    while stack:
        value, path, depth = stack.pop()
        if depth > max_depth:
            raise SpecError([SpecIssue(path, f"is nested more than {max_depth} levels deep; job files and API "
                                             "bodies are much flatter, so check that this is the right document")])
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            items = []
            problem = _unstorable(value)
            if problem:
                raise SpecError([SpecIssue(path, problem)])
            size += len(value) + 2 if isinstance(value, str) else 8
        for key, item in reversed(items):
            if isinstance(key, str):
                size += len(key) + 2
                if _unstorable(key):
                    raise SpecError([SpecIssue(path, "a key " + _unstorable(key).removeprefix("text "))])
            stack.append((item, join(path, key), depth + 1))
        if size > max_bytes:
            raise SpecError([SpecIssue(path, f"the document is larger than {max_bytes:,} bytes; job files are "
                                             "small, so check that this is the right document")])


def _unstorable(value: Any) -> str:
    """Why a plain value cannot be stored ("" when it can)."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text contains a NUL character (\\0), which cannot be stored; remove it"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "text contains an unpaired surrogate (not valid Unicode); send UTF-8 text"
    elif isinstance(value, bool):
        return ""
    elif isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        return "is too large a number to store (beyond 64 bits); write a smaller number, or quote it"
    elif isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number (NaN or infinity) and cannot be stored; write a number"
    return ""


def _utf8(text: str, source: str | None) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise fatal(
            f"text contains a character that is not valid Unicode at offset {exc.start}; "
            "save the file as UTF-8",
            source=source,
        ) from None


class _Scalars(yaml.resolver.Resolver, yaml.constructor.SafeConstructor):
    """Resolves and builds single scalars exactly as yaml.safe_load does."""

    def __init__(self) -> None:
        yaml.resolver.Resolver.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)


_SCALARS = _Scalars()


def _resolved_tag(kind: type, event: Any) -> str:
    if event.tag not in (None, "!"):
        return event.tag
    value = event.value if kind is yaml.ScalarNode else None
    return _SCALARS.resolve(kind, value, event.implicit)


def _compose(text: str, source: str | None) -> yaml.Node | None:
    """Turn the event stream into a node graph; aliases share nodes (nothing is expanded yet)."""
    anchors: dict[str, yaml.Node] = {}
    open_nodes: list[tuple[yaml.Node, str | None]] = []
    root: yaml.Node | None = None
    documents = 0
    aliases = 0

    def attach(node: yaml.Node) -> None:
        nonlocal root
        if open_nodes:
            open_nodes[-1][0].value.append(node)
        else:
            root = node

    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise fatal(
                    "found a second YAML document (---); put one job in each file",
                    event.start_mark,
                    source=source,
                )
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise fatal(
                    f"document uses more than {MAX_ALIASES:,} aliases (*name); job files need few, "
                    "so write the values out or check that this is the right file",
                    event.start_mark,
                    source=source,
                )
            if event.anchor not in anchors:
                raise fatal(
                    f"alias *{event.anchor} refers to no complete anchor &{event.anchor} "
                    "before it (recursive aliases are not allowed)",
                    event.start_mark,
                    source=source,
                )
            attach(anchors[event.anchor])
        elif isinstance(event, yaml.ScalarEvent):
            node = yaml.ScalarNode(
                _resolved_tag(yaml.ScalarNode, event), event.value, event.start_mark, event.end_mark
            )
            attach(node)
            if event.anchor:
                anchors[event.anchor] = node
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
            node = kind(_resolved_tag(kind, event), [], event.start_mark, event.end_mark)
            attach(node)
            open_nodes.append((node, event.anchor))
            if len(open_nodes) > MAX_DEPTH:
                raise fatal(
                    f"document is nested more than {MAX_DEPTH} levels deep; "
                    "job files are much flatter, so check that this is the right file",
                    event.start_mark,
                    source=source,
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            node, anchor = open_nodes.pop()
            if isinstance(node, yaml.MappingNode):
                items = node.value
                node.value = list(zip(items[0::2], items[1::2]))
            if anchor:
                anchors[anchor] = node
    return root


def _location(node: yaml.Node) -> Location:
    return Location(node.start_mark.line + 1, node.start_mark.column + 1)


def _show_tag(tag: str) -> str:
    return tag.replace(_TAG, "!!")


class _Builder:
    """Walks the node graph into plain values, expanding aliases under a node budget."""

    def __init__(self, source: str | None, max_bytes: int = MAX_BYTES) -> None:
        self.source = source
        self.locations = Locations()
        self.issues: list[SpecIssue] = []
        self.visited = 0
        self.max_bytes = max_bytes
        self.size = 0  # bytes of text built so far, each alias counted again where it is used

    def count(self, text: str, node: yaml.Node) -> None:
        """Add a scalar's (or key's) text to the expanded size; refuse once it passes the limit."""
        self.size += len(text) + 2 if text.isascii() else len(text.encode("utf-8", "surrogatepass")) + 2
        if self.size > self.max_bytes:
            raise fatal(
                f"document is larger than {self.max_bytes:,} bytes once aliases (*name) are expanded; "
                "write the repeated value once, or check that this is the right file",
                node.start_mark,
                source=self.source,
            )

    def problem(self, path: str, message: str, node: yaml.Node) -> None:
        where = _location(node)
        self.issues.append(SpecIssue(path, message, where.line, where.column, self.source))

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES or depth > MAX_DEPTH:
            raise fatal(
                f"document too large or complex: more than {MAX_NODES:,} values or "
                f"{MAX_DEPTH} levels once aliases (*name) are expanded",
                node.start_mark,
                source=self.source,
            )
        self.locations.values[path] = _location(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag != _COLLECTION_TAGS[type(node)]:
            self.problem(path, f"unsupported YAML tag {_show_tag(node.tag)}; remove the tag", node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join(path, index), depth + 1) for index, item in enumerate(node.value)]
        return self._mapping(node, path, depth)

    def _scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        self.count(node.value, node)
        if "\x00" in node.value:
            self.problem(path, "contains a NUL character (\\0), which cannot be stored; remove it", node)
            return node.value.replace("\x00", "")
        if node.tag == _TAG + "timestamp":
            return node.value  # dates stay text, so specs remain JSON-serialisable
        if node.tag not in _SCALAR_TAGS:
            self.problem(
                path,
                f"unsupported YAML tag {_show_tag(node.tag)}; write a plain value "
                "(text, number, true/false)",
                node,
            )
            return node.value
        try:
            value = _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
        except (ValueError, yaml.YAMLError):
            self.problem(path, f"cannot read {node.value[:40]!r} as a value; quote it to keep it as text", node)
            return node.value
        if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
            self.problem(path, f"{node.value[:40]} is too large a number to store (beyond 64 bits); "
                               "write a smaller number, or quote it to keep it as text", node)
            return None  # reported here; readers see no value
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(path, f"{node.value} (not a finite number) cannot be stored; write a number, "
                               "or quote it to keep it as text", node)
            return node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for key, value in self._merged(value_node, path, depth).items():
                    result.setdefault(key, value)
        explicit: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(path, "mapping keys must be plain text, not lists or mappings", key_node)
                continue
            key = key_node.value
            self.count(key, key_node)
            if "\x00" in key:
                self.problem(path, "a key contains a NUL character (\\0), which cannot be stored; remove it",
                             key_node)
                key = key.replace("\x00", "")
            child = join(path, key)
            if key in explicit:
                self.problem(
                    child,
                    f"duplicate key '{key}' (first written on line {explicit[key]}); "
                    "keep only one of them",
                    key_node,
                )
            explicit[key] = key_node.start_mark.line + 1
            self.locations.keys[child] = _location(key_node)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _merged(self, node: yaml.Node, path: str, depth: int) -> dict:
        """The keys brought in by `<<: *anchor` (or a list of anchors; earlier ones win)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            self.visited += 1
            if not isinstance(source, yaml.MappingNode):
                self.problem(path, "'<<' merges mappings only; write <<: *anchor of a mapping", source)
                continue
            for key, value in self._mapping(source, path, depth).items():
                merged.setdefault(key, value)
        return merged
