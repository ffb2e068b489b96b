"""Generated programs: whatever the mix of functions, classes, comments, docstrings and
awkward strings, the skeleton parses with no new errors and its refs give back the input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_code_samples import restore

from headroom.compressors.code import compress, syntax_errors
from headroom.compressors.code.languages import grammar
from headroom.config import Config

CFG = Config(options={"code": {"min_tokens": 50, "min_saving": 0.0}})
NAMES = st.sampled_from(["load", "parse_value", "retryCount", "HTTPClient", "flush", "_clamp", "run"])
STRINGS = st.sampled_from(['"a # not a comment"', "'} { // not a brace'", '"""one line doc"""', "'\\\\n'", '"x"'])


@st.composite
def python_statement(draw: st.DrawFn, depth: int) -> list[str]:
    kind = draw(st.sampled_from(["assign", "call", "if", "for", "def", "comment", "return"] if depth < 2
                                else ["assign", "call", "comment", "return"]))
    name, value = draw(NAMES), draw(STRINGS)
    if kind == "assign":
        return [f"{name} = {value}"]
    if kind == "call":
        return [f"{name}({value}, key=[1, 2,", "    3])"]
    if kind == "comment":
        return [f"# {name} {value}"]
    if kind == "return":
        return [f"return {value}"]
    body = draw(st.lists(python_statement(depth + 1), min_size=1, max_size=3))
    head = {"if": f"if {name}:", "for": f"for {name} in range(3):", "def": f"def {name}(x, *a, **k):"}[kind]
    return [head, *("    " + line for stmt in body for line in stmt)]


@st.composite
def python_function(draw: st.DrawFn, indent: str) -> list[str]:
    lines = []
    if draw(st.booleans()):
        lines.append("@decorator(option=True)")
    lines.append(f"def {draw(NAMES)}(self, value: int = 0) -> {draw(st.sampled_from(['int', 'str', 'None']))}:")
    doc = draw(st.sampled_from(["", '"""Short doc."""', '"""Longer doc.\n\n    More text here.\n    """']))
    if doc:
        lines.extend("    " + line if i == 0 else line for i, line in enumerate(doc.split("\n")))
    for stmt in draw(st.lists(python_statement(0), min_size=1, max_size=6)):
        lines.extend("    " + line for line in stmt)
    return [indent + line if line.strip() else line for line in lines]


@st.composite
def python_module(draw: st.DrawFn) -> str:
    parts = ['"""Module doc.\n\nSecond paragraph of the module doc.\nThird line.\n"""', "import os"]
    for _ in range(draw(st.integers(2, 6))):
        if draw(st.booleans()):
            parts.append("\n".join(draw(python_function(""))))
        else:
            methods = [line for _ in range(draw(st.integers(1, 3))) for line in [*draw(python_function("    ")), ""]]
            doc = draw(st.sampled_from(["", '    """Class doc.\n\n    Details.\n    More details.\n    """']))
            parts.append("\n".join([f"class {draw(NAMES).title()}(Base):", *([doc] if doc else []), *methods]))
        if draw(st.booleans()):
            parts.append("# a comment block\n# that runs\n# over several\n# lines\nCONSTANT = {'k': [1, 2]}")
    return "\n\n\n".join(parts) + "\n"


@st.composite
def js_function(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    body = draw(st.lists(st.sampled_from([
        "  const s = `template ${x} } { // not a comment`;",
        "  if (x) {\n    return { a: 1, b: [1, 2] };\n  }",
        "  for (let i = 0; i < 3; i++) {\n    call(i, '}');\n  }",
        "  // a comment inside\n  helper(x);",
        "  return x /* inline */ + 1;",
    ]), min_size=1, max_size=5))
    shape = draw(st.sampled_from(["decl", "assign", "arrow", "method"]))
    doc = "/**\n * Does a thing.\n *\n * @param {number} x\n */\n" if draw(st.booleans()) else ""
    inner = "\n".join(body)
    if shape == "decl":
        return f"{doc}function {name}(x) {{\n{inner}\n}}"
    if shape == "assign":
        return f"{doc}exports.{name} = function (x) {{\n{inner}\n}};"
    if shape == "arrow":
        return f"{doc}const {name} = (x) => {{\n{inner}\n}};"
    return f"class {name.title()} {{\n  {name}(x) {{\n{inner}\n  }}\n}}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(python_module(), st.sampled_from(["", "how does parse_value handle retryCount?", "flush the HTTPClient"]))
def test_python_skeleton_is_valid_and_restorable(text: str, question: str) -> None:
    _check("python", text, question)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(js_function(), min_size=2, max_size=8), st.sampled_from(["", "what does load return?"]))
def test_javascript_skeleton_is_valid_and_restorable(functions: list[str], question: str) -> None:
    _check("javascript", "'use strict';\n\n" + "\n\n".join(functions) + "\n", question)


def _check(lang: str, text: str, question: str) -> None:
    gram = grammar(lang)
    assert gram is not None
    before = syntax_errors(gram.parser().parse(text.encode()))
    comp = compress(text, question, CFG)
    assert syntax_errors(gram.parser().parse(comp.text.encode())) <= before
    assert restore(comp) == text
    assert len(comp.text) <= len(text)
