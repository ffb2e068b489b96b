"""BFCL's multi-turn function-calling data, read straight from its wheel (no install).

``bfcl-eval`` pins numpy, tree_sitter and torch, so it rarely installs beside an app; its
wheel is pure data and Python. This module finds (or extracts) the wheel, loads the four
multi-turn categories with their ground-truth call sequences, and runs those calls
against BFCL's own simulated APIs (``GorillaFileSystem``, ``TwitterAPI``, ...) so the tool
results in an eval conversation are the real outputs. Call strings are parsed with
:mod:`ast` and their arguments read with :func:`ast.literal_eval`; nothing is ``eval``-ed.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import types
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from itertools import zip_longest
from pathlib import Path
from typing import Any

__all__ = ["CATEGORIES", "PIN", "Call", "Conversation", "Simulator", "cache_dir", "download_hint", "load",
           "locate", "tool_docs"]

PIN = "2026.3.23"
CATEGORIES = ("base", "long_context", "miss_func", "miss_param")
#: Simulated API class -> (module under func_source_code, function-doc file).
CLASSES: dict[str, tuple[str, str]] = {
    "GorillaFileSystem": ("gorilla_file_system", "gorilla_file_system.json"),
    "MathAPI": ("math_api", "math_api.json"),
    "MessageAPI": ("message_api", "message_api.json"),
    "TwitterAPI": ("posting_api", "posting_api.json"),
    "TicketAPI": ("ticket_api", "ticket_api.json"),
    "TradingBot": ("trading_bot", "trading_bot.json"),
    "TravelAPI": ("travel_booking", "travel_booking.json"),
    "VehicleControlAPI": ("vehicle_control", "vehicle_control.json"),
}
STATELESS = frozenset({"MathAPI"})
_SOURCE_PKG = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
_WANTED = ("bfcl_eval/data/BFCL_v4_multi_turn_", "bfcl_eval/data/possible_answer/BFCL_v4_multi_turn_",
           "bfcl_eval/data/multi_turn_func_doc/", "bfcl_eval/eval_checker/multi_turn_eval/func_source_code/")


def cache_dir() -> Path:
    """Where a downloaded wheel is looked for: ``$XDG_CACHE_HOME/headroom/bfcl`` (``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "headroom" / "bfcl"


def download_hint() -> str:
    return f"pip download bfcl-eval=={PIN} --no-deps -d {cache_dir()}"


def _extract(wheel: Path) -> Path:
    """The wheel's data and simulated APIs unpacked once under the cache dir (atomically)."""
    target = cache_dir() / "extracted" / wheel.stem
    if (target / "bfcl_eval" / "data").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".part-"))
    try:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith(_WANTED) and not name.endswith("/"):
                    zf.extract(name, tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process extracted it first
            if not (target / "bfcl_eval" / "data").is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _root_of(path: Path) -> Path | None:
    """The directory holding ``bfcl_eval/`` for a wheel, an extracted tree or a folder of wheels."""
    if path.is_file() and path.suffix == ".whl":
        return _extract(path)
    if (path / "bfcl_eval" / "data").is_dir():
        return path
    if path.name == "bfcl_eval" and (path / "data").is_dir():
        return path.parent
    if path.is_dir():
        wheels = sorted(path.glob("bfcl_eval-*.whl"))
        if wheels:
            return _extract(wheels[-1])
    return None


def locate(data: str | os.PathLike[str] | None = None) -> Path:
    """The root directory of BFCL's files: ``data`` (wheel, extracted dir, folder of wheels),
    else an installed ``bfcl_eval`` package, else a wheel in :func:`cache_dir`."""
    if data is not None:
        root = _root_of(Path(data).expanduser())
        if root is None:
            raise FileNotFoundError(f"no BFCL data at {data} (expected a bfcl_eval wheel or an extracted "
                                    f"bfcl_eval tree); get the wheel with: {download_hint()}")
        return root
    spec = find_spec("bfcl_eval")
    if spec is not None and spec.submodule_search_locations:
        pkg = Path(next(iter(spec.submodule_search_locations)))
        if (pkg / "data").is_dir():
            return pkg.parent
    if cache_dir().is_dir():
        root = _root_of(cache_dir())
        if root is not None:
            return root
    raise FileNotFoundError(f"BFCL data not found (no installed bfcl_eval, no wheel in {cache_dir()}); "
                            f"download it with: {download_hint()}")


@dataclass
class Conversation:
    """One BFCL multi-turn entry: user questions and ground-truth calls per turn."""

    id: str
    category: str
    questions: list[list[dict[str, Any]]]
    ground_truth: list[list[str]]
    initial_config: dict[str, Any]
    involved_classes: list[str]
    excluded: list[str] = field(default_factory=list)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load(root: Path, limit: int | None = None, categories: tuple[str, ...] = CATEGORIES) -> list[Conversation]:
    """Conversations of ``categories`` interleaved (base_0, long_context_0, ...), so a
    ``limit`` still covers every category."""
    per: list[list[Conversation]] = []
    data = root / "bfcl_eval" / "data"
    for cat in categories:
        truth = {d["id"]: d["ground_truth"] for d in
                 _read_lines(data / "possible_answer" / f"BFCL_v4_multi_turn_{cat}.json")}
        per.append([Conversation(d["id"], cat, d["question"], truth[d["id"]], d.get("initial_config", {}),
                                 list(d["involved_classes"]), list(d.get("excluded_function", [])))
                    for d in _read_lines(data / f"BFCL_v4_multi_turn_{cat}.json") if d["id"] in truth])
    out = [c for row in zip_longest(*per) for c in row if c is not None]
    return out[:limit] if limit is not None else out


def _schema(node: Any) -> Any:
    """A BFCL parameter schema as JSON Schema (``dict`` -> ``object``, ``float`` -> ``number``)."""
    if isinstance(node, list):
        return [_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _schema(v) for k, v in node.items()}
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}.get(kind, kind)
    return out


def tool_docs(root: Path, classes: Sequence[str], excluded: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``[{"name", "description", "parameters"}]`` for the classes' functions (JSON Schema)."""
    docs: list[dict[str, Any]] = []
    for cls in classes:
        path = root / "bfcl_eval" / "data" / "multi_turn_func_doc" / CLASSES[cls][1]
        for d in _read_lines(path):
            if d["name"] not in excluded:
                docs.append({"name": d["name"], "description": d.get("description", ""),
                             "parameters": _schema(d.get("parameters", {"type": "object", "properties": {}}))})
    return docs


def _packages(root: Path) -> None:
    """Make ``bfcl_eval.…func_source_code`` importable from ``root`` without running any
    ``__init__`` of the real package (which would pull in its heavy dependencies)."""
    if "bfcl_eval" in sys.modules:
        return
    parts = _SOURCE_PKG.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        mod = types.ModuleType(name)
        mod.__path__ = [str(root.joinpath(*parts[:i]))]
        sys.modules[name] = mod


def load_classes(root: Path) -> dict[str, type | str]:
    """Each simulated API class, or the import error (e.g. a missing dependency) as text."""
    _packages(root)
    out: dict[str, type | str] = {}
    for cls, (module, _doc) in CLASSES.items():
        try:
            out[cls] = getattr(importlib.import_module(f"{_SOURCE_PKG}.{module}"), cls)
        except Exception as exc:  # ImportError mostly; any failure just skips its conversations
            out[cls] = f"{type(exc).__name__}: {exc}"
    return out


@dataclass(frozen=True)
class Call:
    """One executed ground-truth call: keyword arguments as sent, the result as a tool would return it."""

    name: str
    arguments: dict[str, Any]
    result: str


def _result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


class Simulator:
    """Fresh instances of a conversation's API classes, loaded with its initial config."""

    def __init__(self, conv: Conversation, classes: dict[str, type | str]) -> None:
        self.methods: dict[str, Any] = {}
        for cls in conv.involved_classes:
            klass = classes[cls]
            if isinstance(klass, str):
                raise ImportError(f"{cls} unavailable: {klass}")
            instance = klass()
            if cls not in STATELESS:
                instance._load_scenario(copy.deepcopy(conv.initial_config.get(cls, {})),
                                        long_context=conv.category == "long_context")
            for name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
                if not name.startswith("_"):
                    self.methods[name] = method

    def call(self, text: str) -> Call:
        """Parse ``name(arg, key=value)`` and run it; errors become the result text, as in BFCL."""
        node = ast.parse(text.strip(), mode="eval").body
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise ValueError(f"not a plain function call: {text!r}")
        name = node.func.id
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
        method = self.methods.get(name)
        if method is None:
            return Call(name, kwargs, f"Error during execution: unknown function {name}")
        names = list(inspect.signature(method).parameters)
        arguments = {**dict(zip(names, args)), **kwargs}
        try:
            result = _result_text(method(**arguments))
        except Exception as exc:
            result = f"Error during execution: {exc}"
        return Call(name, arguments, result)
