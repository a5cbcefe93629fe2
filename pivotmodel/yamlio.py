"""Strict, safe YAML reading that keeps line numbers and refuses duplicate keys.

Assumption files are data: they are read with PyYAML's ``SafeLoader`` (no Python objects,
no tags that run code), and nothing read is ever passed to ``eval`` or ``exec``. Mappings
come back as :class:`LineDict`, a ``dict`` that also knows the line of each key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem

__all__ = ["LineDict", "line_of", "read_yaml", "unknown_keys", "top_level_keys"]


class LineDict(dict):
    """A dict that remembers the 1-based line of each key (``lines[key]``) and its own."""

    lines: dict[str, int]
    line: int

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key, self.line)


def line_of(mapping: Any, key: Any) -> int | None:
    """The line of ``key`` in a mapping read from YAML (``None`` for a mapping built in code)."""
    return mapping.line_of(key) if isinstance(mapping, LineDict) else None


class _Refused(yaml.composer.ComposerError):
    """Valid YAML that assumption files may not use."""


def unknown_keys(label: str, where: str, entry: Any, valid: Any) -> list[Problem]:
    """A problem for each key of the mapping ``entry`` that is not in ``valid``, at its line."""
    return [
        Problem(label, f"{where}.{k}", f"unknown key; valid: {', '.join(valid)}", line_of(entry, k))
        for k in entry
        if k not in valid
    ]


def top_level_keys(label: str, data: Any, valid: Sequence[str], children: Collection[str] = ()) -> list[Problem]:
    """A problem for each top-level key of a file's mapping ``data`` that is not in ``valid`` (did you
    mean?); a key that belongs one level down (``children``) is told to be indented under it."""
    if not isinstance(data, dict):
        return []
    out = []
    for k in data:
        if k in valid:
            continue
        if str(k) in children:
            hint = f"; {k!r} belongs under {valid[0]!r}: indent it to sit with the others there"
        else:
            near = difflib.get_close_matches(str(k), list(valid), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
        out.append(Problem(label, str(k), f"unknown top-level key; valid: {', '.join(valid)}{hint}", line_of(data, k)))
    return out


def _duplicates(node: yaml.Node, path: str, out: list[tuple[str, int, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            child = f"{path}.{key}" if path else key
            if key in seen:
                out.append((child, seen[key], line))
            else:
                seen[key] = line
            _duplicates(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates(item, f"{path}[{i}]", out)


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.lines = {}
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            raise yaml.constructor.ConstructorError(None, None, "keys must be plain text", key_node.start_mark)
        key = str(key)
        line = key_node.start_mark.line + 1
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _strict_loader(parser: type) -> type:
    """A safe loader (safe constructor, no Python objects) on ``parser`` that records lines,
    refuses duplicate keys (found on the node tree, so each is named by its full key path) and
    refuses anchors and aliases: assumption files need neither, and a few hundred bytes of
    nested aliases expand to billions of nodes. ``parser`` is libyaml's (``yaml.cyaml.CParser``,
    C) or PyYAML's own (``yaml.parser.Parser``, Python, on its reader and scanner): the events,
    their marks and the errors are of the same kinds either way. The composer above it is
    always PyYAML's, so the checks here see every event."""
    python = parser is yaml.parser.Parser
    bases = (
        yaml.composer.Composer,
        parser,
        *((yaml.reader.Reader, yaml.scanner.Scanner) if python else ()),
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    )

    def __init__(self, stream: str) -> None:
        if python:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
        else:
            parser.__init__(self, stream)  # type: ignore[misc]
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                None,
                None,
                "anchors (&name) and aliases (*name) are not allowed in assumption files; write each value out",
                event.start_mark,
            )
        return yaml.composer.Composer.compose_node(self, parent, index)

    loader = type(
        "_StrictLoader",
        bases,
        {
            "__init__": __init__,
            "compose_node": compose_node,
            "yaml_constructors": dict(yaml.constructor.SafeConstructor.yaml_constructors),
        },
    )
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[attr-defined]
    # YAML 1.1 reads 1e9 (no dot) as text; an analyst means the number, as in every other tool
    number = re.compile(r"^[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+$")
    loader.add_implicit_resolver("tag:yaml.org,2002:float", number, list("-+0123456789"))  # type: ignore[attr-defined]
    return loader


# libyaml's parser where PyYAML was built with it: ~5x faster on the bundled files, where
# scanning in Python was most of the load
_StrictLoader = _strict_loader(getattr(getattr(yaml, "cyaml", None), "CParser", None) or yaml.parser.Parser)


def read_yaml(path: Path, label: str | None = None, expect: str = "it must hold the keys its comments describe") -> Any:
    """Read one YAML file strictly. Raises :class:`InputError` on syntax errors, duplicate
    keys, anchors or aliases, a NUL byte or an empty document (``expect`` says what the file
    should hold)."""
    name = label or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError.single(name, "", f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError.single(name, "", "is not UTF-8 text") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError.single(
            name, "", "holds a NUL byte (a binary or damaged file?); assumption files are plain text", line
        )
    duplicates: list[tuple[str, int, int]] = []
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and loader.construct_document(node) is None):
            raise InputError.single(name, "", f"is empty (nothing but comments, blank lines or '---'); {expect}")
        _duplicates(node, "", duplicates)
        if duplicates:
            raise InputError(
                [
                    Problem(name, key, f"duplicate key (first defined on line {first})", line)
                    for key, first, line in duplicates
                ]
            )
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line: int | None = mark.line + 1 if mark is not None else None
        what = exc.problem or str(exc)
        if "maximum nesting depth" in what:  # libyaml's limit; PyYAML's own parser recurses instead (below)
            raise InputError.single(name, "", "is nested too deeply to be an assumption file", mark_line) from None
        prefix = "" if isinstance(exc, _Refused) else "YAML syntax error: "
        raise InputError.single(name, "", f"{prefix}{what}", mark_line) from None
    except yaml.reader.ReaderError as exc:  # a control character
        line = text.count("\n", 0, exc.position) + 1
        raise InputError.single(
            name, "", f"holds the control character #x{exc.character:04x}, which YAML does not allow", line
        ) from None
    except yaml.YAMLError as exc:
        raise InputError.single(name, "", "YAML error: " + " ".join(str(exc).split())) from None
    except RecursionError:
        raise InputError.single(name, "", "is nested too deeply to be an assumption file") from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2025-02-30
        raise InputError.single(name, "", f"holds a value that cannot be read: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data
