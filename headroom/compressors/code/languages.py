"""Per-language facts the skeleton needs: grammar, function and comment node types,
comment syntax, and which words before ``(`` are keywords rather than calls.

Grammars come from the installed ``tree-sitter-*`` wheels (the ``[code]`` extra) and
are loaded on first use; nothing is downloaded. :func:`grammar` returns ``None`` when
tree-sitter or the language's wheel is missing, and the caller falls back to folding.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

__all__ = ["SPECS", "Grammar", "Spec", "grammar", "guess_language", "load_all"]

_C_KEYWORDS = frozenset("""
if else for while do switch case return catch try finally throw new typeof instanceof sizeof
delete void in of await yield function func fn match loop super this self assert defer go select
""".split())


@dataclass(frozen=True)
class Spec:
    """What differs between languages for the skeleton."""

    name: str
    module: str
    attr: str
    #: Node types whose ``body`` field is a function body.
    functions: tuple[str, ...]
    #: Body node types that can be replaced by a marker (a block, not an expression).
    bodies: frozenset[str]
    comments: tuple[str, ...]
    #: Line-comment prefix used for markers inside code.
    comment: str
    #: Declarations that own the functions inside them (class, impl, struct ...).
    owners: frozenset[str]
    #: Words that look like calls before ``(`` but are not (``if (``, ``return (``).
    keywords: frozenset[str] = _C_KEYWORDS
    #: Bodies are indented blocks after ``:`` (Python), not ``{ ... }``.
    indented: bool = False
    #: Query capturing class docstrings as ``@d`` (Python only).
    docs: str = ""
    #: Literal and declaration lists whose long runs of elements can be elided (tables).
    tables: tuple[str, ...] = ()
    #: Nodes whose children are statements (blocks, switch cases): what a body kept in
    #: part keeps or leaves out whole (:mod:`~headroom.compressors.code.partial`).
    statements: frozenset[str] = frozenset()


_JS_FUNCS = ("function_declaration", "function_expression", "generator_function_declaration",
             "generator_function", "arrow_function", "method_definition", "class_static_block")
_JS_STATEMENTS = frozenset({"statement_block", "switch_body", "switch_case", "switch_default"})
_JS_OWNERS = frozenset({"class_declaration", "class", "abstract_class_declaration", "interface_declaration",
                        "object", "internal_module", "module"})

SPECS: dict[str, Spec] = {
    "python": Spec(
        "python", "tree_sitter_python", "language", ("function_definition",), frozenset({"block"}),
        ("comment",), "#", frozenset({"class_definition"}),
        frozenset("if elif while for return not and or in is lambda print assert del yield await with except "
                  "raise def class".split()), indented=True,
        docs="(class_definition body: (block . (expression_statement . (string) .) @d))",
        tables=("list", "dictionary", "set", "tuple"), statements=frozenset({"block"})),
    "javascript": Spec(
        "javascript", "tree_sitter_javascript", "language", _JS_FUNCS, frozenset({"statement_block"}),
        ("comment",), "//", _JS_OWNERS, tables=("array", "object"), statements=_JS_STATEMENTS),
    "typescript": Spec(
        "typescript", "tree_sitter_typescript", "language_typescript", _JS_FUNCS, frozenset({"statement_block"}),
        ("comment",), "//", _JS_OWNERS, tables=("array", "object"), statements=_JS_STATEMENTS),
    "tsx": Spec(
        "tsx", "tree_sitter_typescript", "language_tsx", _JS_FUNCS, frozenset({"statement_block"}),
        ("comment",), "//", _JS_OWNERS, tables=("array", "object"), statements=_JS_STATEMENTS),
    "go": Spec(
        "go", "tree_sitter_go", "language", ("function_declaration", "method_declaration", "func_literal"),
        frozenset({"block"}), ("comment",), "//", frozenset({"type_spec"}),
        tables=("literal_value", "const_declaration", "var_spec_list"),
        statements=frozenset({"block", "statement_list", "expression_case", "default_case", "type_case",
                              "communication_case"})),
    "rust": Spec(
        "rust", "tree_sitter_rust", "language", ("function_item", "closure_expression", "macro_definition"),
        frozenset({"block"}),
        ("line_comment", "block_comment"), "//", frozenset({"impl_item", "trait_item", "mod_item"}),
        tables=("array_expression", "enum_variant_list"), statements=frozenset({"block", "match_block"})),
    "java": Spec(
        "java", "tree_sitter_java", "language",
        ("method_declaration", "constructor_declaration", "compact_constructor_declaration", "lambda_expression",
         "static_initializer"),
        frozenset({"block", "constructor_body"}), ("line_comment", "block_comment"), "//",
        frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
                   "annotation_type_declaration", "object_creation_expression"}),
        tables=("array_initializer", "enum_body"),
        statements=frozenset({"block", "constructor_body", "switch_block", "switch_block_statement_group"})),
}


@dataclass(frozen=True)
class Grammar:
    """A loaded grammar with its compiled query (immutable, shared across threads): one
    pass captures functions ``@f``, comments ``@c``, tables ``@t`` and docstrings ``@d``."""

    spec: Spec
    language: Any
    query: Any

    def parser(self) -> Any:
        """A fresh parser: parsers hold state, so each call gets its own (cheap)."""
        from tree_sitter import Parser

        return Parser(self.language)


_LOCK = threading.Lock()


@cache
def _load(name: str) -> Grammar | None:
    spec = SPECS.get(name)
    if spec is None:
        return None
    try:
        from tree_sitter import Language, Query

        language = Language(getattr(import_module(spec.module), spec.attr)())
        source = " ".join(f"[{' '.join(f'({t})' for t in types)}] @{name}"
                          for name, types in (("f", spec.functions), ("c", spec.comments), ("t", spec.tables))
                          if types)
        query = Query(language, f"{source} {spec.docs}")
    except Exception:  # missing extra, incompatible wheel: fall back to folding
        return None
    return Grammar(spec, language, query)


def grammar(name: str) -> Grammar | None:
    """The grammar for ``name``, or ``None`` when it is not installed."""
    with _LOCK:
        return _load(name)


def load_all() -> None:
    """Load every grammar now (each costs a few ms of query compiling on first use)."""
    for name in SPECS:
        grammar(name)


_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("go", re.compile(r"^package \w+\s*$|^func (\(\w+ \*?\w+\) )?\w+\(", re.M)),
    ("rust", re.compile(r"^\s*(pub(\(crate\))? )?(fn|impl|mod|use|struct|enum|trait) [\w:<{]|^#!?\[", re.M)),
    ("java", re.compile(r"^\s*(public|private|protected)( static| final| abstract)* (class|interface|enum|record)"
                        r" |^package [\w.]+;|^import [\w.]+;", re.M)),
    ("python", re.compile(r"^\s*(def \w+\(.*\):|class \w+.*:|from [\w.]+ import |import \w+$)", re.M)),
    ("typescript", re.compile(r"^\s*(export )?(interface|type) \w+|: (string|number|boolean)\b", re.M)),
    ("javascript", re.compile(r"^\s*(const|let|var) \w+ = |\bfunction\b|=>|require\(|module\.exports", re.M)),
)


def guess_language(text: str) -> str:
    """A cheap guess used only when the router is unavailable: most hint hits in the head."""
    head = text[:8000]
    best, hits = "other", 0
    for name, pattern in _HINTS:
        n = len(pattern.findall(head))
        if n > hits:
            best, hits = name, n
    return best if hits >= 2 else "other"
