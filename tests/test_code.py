"""The code skeleton: what it keeps, what its markers say, that the output stays valid
and that every ref gives back exactly the lines it replaced."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_code_samples import GO, JAVA, JAVASCRIPT, PYTHON, SAMPLES, TYPESCRIPT, restore

import headroom.compressors.code as code
from headroom.ccr.markers import find_markers
from headroom.compressors.code import compress, syntax_errors
from headroom.compressors.code.languages import grammar
from headroom.compressors.code.render import Edit
from headroom.config import Config

#: The samples are small; let them through the small-file floor.
CFG = Config(options={"code": {"min_tokens": 100}})


def _errors(lang: str, text: str) -> int:
    gram = grammar(lang)
    assert gram is not None
    return syntax_errors(gram.parser().parse(text.encode()))


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_skeleton_is_valid_shorter_and_restorable(lang: str) -> None:
    text = SAMPLES[lang]
    comp = compress(text, "", CFG)
    assert comp.strategy == "code:skeleton"
    assert len(comp.text) < 0.8 * len(text)
    assert _errors(lang, comp.text) == 0
    assert restore(comp) == text
    assert comp.omissions and all(o.kind == "code" for o in comp.omissions)
    for line in comp.text.split("\n"):
        for m in find_markers(line):
            assert m.ref is not None and re.match(r"[\d,]+ lines?\b", m.summary)


def test_python_keeps_the_skeleton() -> None:
    out = compress(PYTHON, "", CFG).text
    for kept in ("import os", "import typing as t", "DEFAULT_SEPARATOR = \",\"", "class ParamType:",
                 "class FloatRange(ParamType):",
                 "    def __init__(\n        self,\n        min: t.Optional[float] = None,",
                 "    def describe(self) -> str:", "def env_path(name: str, default: str = \"\") -> str:",
                 '"""Parameter types for a small command line toolkit.'):
        assert kept in out, kept
    # the module docstring keeps its first paragraph; the rest is inside the docstring's marker
    assert "Each type converts" not in out and "[… 5 lines · headroom_retrieve ref=" in out
    # bodies are gone, a docstring's first line stands in for them, and the body stays valid
    assert "Clamping is not supported" not in out
    assert '        """Convert the value to the correct type."""  # [… ' in out
    assert '        ...  # [… ' in out
    # a one-line docstring stays verbatim and the marker follows as a comment
    assert '        """Describe the range for use in help text."""\n        # [… ' in out


def test_marker_names_the_functions_a_body_calls() -> None:
    """Calls into functions the skeleton shows are listed; builtins are not."""
    lines = compress(PYTHON, "", CFG).text.split("\n")
    signature = "    def convert(self, value: t.Any, param: t.Optional[str], ctx: t.Optional[dict]) -> t.Any:"
    convert = lines.index(signature, lines.index("class FloatRange(ParamType):"))
    assert lines[convert + 1].startswith("        ...  # [… 11 lines: calls fail, describe · headroom_retrieve ref=")
    assert "float" not in lines[convert + 1]


def test_question_keeps_the_bodies_it_points_at() -> None:
    question = "Why does FloatRange(0, 1, max_open=True, clamp=True) raise when the module is imported?"
    comp = compress(PYTHON, question, CFG)
    assert "if (min_open or max_open) and clamp:" in comp.text
    assert 'raise TypeError("Clamping is not supported for open bounds.")' in comp.text
    assert "def split_envvar_value" in comp.text and "rv.split(DEFAULT_SEPARATOR)" not in comp.text
    assert restore(comp) == PYTHON


@pytest.mark.parametrize(("lang", "question", "needles"), [
    ("javascript", "res.cookie('session', token, { signed: true }) throws, what check fails?",
     ["if (signed && !secret) {", "val = 's:' + sign(val, secret);"]),
    ("go", "Our root PersistentPreRun stops running when a child defines one. Where are the hooks chosen?",
     ["p.PersistentPreRun(c, args)"]),
    ("java", "duration.truncatedTo(WEEKS) throws; which messages and which units are rejected?",
     ["Unit is too large to be used for truncation", "Unit must divide into a standard day without remainder"]),
    ("rust", "What happens with a lone trailing low surrogate escape when not validating?",
     ["n @ 0xDC00..=0xDFFF", "fn encode_surrogate("]),
    ("typescript", "How long does the retry attempt wait between failures (backoff factor)?",
     ["delay = delay * (this.options.factor ?? 2);"]),
])
def test_question_terms_select_bodies_in_every_language(lang: str, question: str, needles: list[str]) -> None:
    text = SAMPLES[lang]
    empty = compress(text, "", CFG).text
    comp = compress(text, question, CFG)
    for needle in needles:
        assert needle not in empty, needle
        assert needle in comp.text, needle
    assert _errors(lang, comp.text) == 0
    assert restore(comp) == text


def test_doc_comments_shrink_to_their_first_line() -> None:
    out = compress(JAVA, "", CFG).text
    doc = "    /** Obtains a {@code Duration} representing a number of seconds. [… 8 lines · headroom_retrieve ref="
    assert doc in out
    assert "The nanosecond in second field is set to zero." not in out
    assert "public static Duration ofSeconds(long seconds) {" in out
    js = compress(JAVASCRIPT, "", CFG).text
    assert "/** Set the HTTP status code for the response. [… " in js
    go = compress(GO, "", CFG).text
    assert "// Copyright 2013-2022 The Example Authors\n// [… 3 lines · headroom_retrieve ref=" in go


def test_braced_bodies_end_on_the_closing_line() -> None:
    out = compress(GO, "", CFG).text
    assert re.search(r"func \(c \*Command\) AddCommand\(cmds \.\.\.\*Command\) \{\n\}  // \[… 8 lines · ", out)
    ts = compress(TYPESCRIPT, "", CFG).text
    assert re.search(r"  private async drain\(\): Promise<void> \{\n  \}  // \[… \d+ lines: calls attempt · ", ts)


def test_long_tables_keep_their_head_and_the_rows_asked_about() -> None:
    rows = "\n".join(f"    ('code_{i:03d}', {i}, 'message number {i} for the table')," for i in range(120))
    text = f"import sys\n\nERRORS = [\n{rows}\n]\n\n\ndef lookup(code):\n    return dict(ERRORS).get(code)\n"
    comp = compress(text, "what is code_077 for?", Config())
    assert comp.strategy == "code:skeleton"
    assert "('code_000', 0," in comp.text and "('code_119', 119," in comp.text
    assert "('code_077', 77," in comp.text and "('code_050', 50," not in comp.text
    assert _errors("python", comp.text) == 0 and restore(comp) == text


def test_small_files_and_small_savings_are_left_alone() -> None:
    small = "def f(x):\n    return x + 1\n"
    assert compress(small, "", Config()) .text == small
    # a file of one-line functions has nothing worth a marker
    flat = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(200))
    comp = compress(flat, "", Config())
    assert comp.text == flat and not comp.omissions and comp.strategy == "code:unchanged"


def test_lossless_only_and_ccr_off() -> None:
    comp = compress(PYTHON, "", CFG.with_(lossless_only=True))
    assert not comp.omissions and "Clamping is not supported" in comp.text
    off = compress(PYTHON, "", CFG.with_(ccr=False))
    assert not off.omissions and "[… " in off.text and "headroom_retrieve" not in off.text
    assert _errors("python", off.text) == 0


def test_keep_scale_keeps_more_bodies() -> None:
    question = "How do ranges convert, describe and fail on values out of range?"
    small = compress(PYTHON, question, CFG.with_(keep_scale=0.1))
    large = compress(PYTHON, question, CFG.with_(keep_scale=8.0))
    assert len(large.omissions) < len(small.omissions)
    assert len(large.text) > len(small.text)


def test_unknown_language_and_missing_grammar_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    c_code = "#include <stdio.h>\n\n" + "".join(f"static int f{i}(int x)\n{{\n    return x + {i};\n}}\n\n\n\n"
                                                for i in range(150))
    ruby = "".join(f"def method_{i}(x)\n  x + {i}\nend\n\n\n\n" for i in range(150))  # looks like Python
    for text in (c_code, ruby):
        comp = compress(text, "", Config())
        assert comp.strategy == "code:fold" and not comp.omissions and "\n\n\n" not in comp.text
    monkeypatch.setattr(code, "grammar", lambda name: None)
    assert compress(PYTHON, "", CFG).strategy == "code:fold"


def test_invalid_output_falls_back_to_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(f: object, spec: object, calls: object, source: object) -> Edit:
        real = original_body_edit(f, spec, calls, source)  # type: ignore[arg-type]
        return Edit(real.first, real.last, real.head.replace("//", "{ //").replace("...  #", "(  #"), real.tail)

    original_body_edit = code.body_edit
    monkeypatch.setattr(code, "body_edit", broken)
    for lang in ("python", "go"):
        comp = compress(SAMPLES[lang], "", CFG)
        assert comp.strategy == "code:invalid-fallback" and comp.text == SAMPLES[lang] and not comp.omissions


def test_router_language_confusion_is_repaired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code, "language_of", lambda text: "javascript")
    comp = compress(TYPESCRIPT, "", CFG)
    assert comp.strategy == "code:skeleton" and _errors("typescript", comp.text) == 0
    assert restore(comp) == TYPESCRIPT


def test_a_small_file_the_router_misnames_is_parsed_in_its_own_language() -> None:
    """A short JavaScript file the router calls Java parses in Java with only a few
    errors; the Java tree's function extents would cut a closing brace, and the gate,
    counting Java errors, would not notice. A small file tries every grammar."""
    snippet = ("'use strict';\n\nclass Load {\n  load(x) {\n  for (let i = 0; i < 3; i++) {\n    call(i, '}');\n"
               "  }\n  }\n}\n\nclass Load {\n  load(x) {\n  if (x) {\n    return { a: 1, b: [1, 2] };\n  }\n"
               "  for (let i = 0; i < 3; i++) {\n    call(i, '}');\n  }\n  }\n}\n")
    assert code.language_of(snippet) == "java"  # the confusion this guards against
    comp = compress(snippet, "", Config(options={"code": {"min_tokens": 20, "min_saving": 0.0}}))
    assert comp.strategy == "code:skeleton"
    assert _errors("javascript", snippet) == 0 and _errors("javascript", comp.text) == 0
    assert restore(comp) == snippet


def test_input_with_syntax_errors_gets_no_new_ones() -> None:
    broken = PYTHON.replace("rv = float(value)", "rv = float(value))", 1)
    before = _errors("python", broken)
    comp = compress(broken, "", CFG)
    assert before > 0 and comp.strategy == "code:skeleton"
    assert _errors("python", comp.text) <= before
    assert restore(comp) == broken
    garbage = PYTHON.replace("    def describe(self) -> str:", "    def describe(self) -> str\n        oops(", 1)
    assert _errors("python", compress(garbage, "", CFG).text) <= _errors("python", garbage)


def test_windows_line_endings() -> None:
    text = GO.replace("\n", "\r\n")
    comp = compress(text, "", CFG)
    assert comp.strategy == "code:skeleton" and _errors("go", comp.text) == 0 and restore(comp) == text


def test_deterministic_across_processes() -> None:
    """Same bytes whatever the hash seed: no set or dict order leaks into the output."""
    script = ("import sys; sys.path.insert(0, 'tests'); from test_code_samples import SAMPLES;"
              "from headroom.compressors.code import compress; from headroom.config import Config;"
              "cfg = Config(options={'code': {'min_tokens': 100}});"
              "print('\\x00'.join(compress(t, 'retry backoff cookie signed FloatRange clamp', cfg).text"
              " for t in SAMPLES.values()))")
    root = Path(__file__).resolve().parents[1]
    outs = {subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("0", "1", "12345")}
    assert len(outs) == 1


@pytest.mark.parametrize("module", ["json/decoder.py", "argparse.py", "dataclasses.py", "email/message.py"])
def test_real_standard_library_files(module: str) -> None:
    path = Path(__import__("os").__file__).parent / module
    text = path.read_text("utf-8")
    comp = compress(text, "", Config())
    assert comp.strategy == "code:skeleton"
    assert _errors("python", comp.text) <= _errors("python", text)
    assert restore(comp) == text
    assert len(comp.text) < 0.6 * len(text)


def test_wrappers_are_opened_and_their_functions_become_units() -> None:
    """A function spanning most of the file (an IIFE, a big macro_rules!) is searched
    again for the functions inside it; the search must not find the wrapper itself."""
    inner = "".join(f"  function step{i}(x) {{\n    var y = x * {i};\n    log('step {i} of the pipeline', y);\n"
                    f"    if (y > {i}) {{\n      y = clamp(y, {i}, limits.upper);\n    }}\n"
                    f"    return helper(y, {i});\n  }}\n\n" for i in range(30))
    iife = f"(function (root) {{\n  'use strict';\n\n{inner}  root.run = step0;\n}})(this);\n"
    comp = compress(iife, "", Config())
    assert comp.strategy == "code:skeleton" and "  function step7(x) {" in comp.text
    assert "  root.run = step0;" in comp.text and _errors("javascript", comp.text) == 0 and restore(comp) == iife
    arms = "".join(f"    ({i}) => {{\n        let v = {i};\n        println!(\"{{}}\", v);\n    }};\n"
                   for i in range(40))
    rust = f"use std::fmt;\n\nmacro_rules! table {{\n{arms}}}\n\nfn main() {{\n    table!(1);\n}}\n"
    comp = compress(rust, "", Config())
    assert comp.strategy == "code:skeleton" and "macro_rules! table {" in comp.text
    assert _errors("rust", comp.text) == 0 and restore(comp) == rust


def test_a_caller_that_knows_the_language_skips_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_router(text: str) -> str:
        raise AssertionError("detect() called although the language was given")

    monkeypatch.setattr(code, "language_of", no_router)
    comp = compress(GO, "", Config(options={"code": {"min_tokens": 100, "language": "go"}}))
    assert comp.strategy == "code:skeleton" and restore(comp) == GO


def test_tree_sitter_is_imported_only_when_code_is_compressed() -> None:
    script = ("import sys; import headroom.compressors.code as c; assert 'tree_sitter' not in sys.modules;"
              "c.compress('def f(x):\\n    y = x + 1\\n    return y\\n\\n' * 200, '',"
              " __import__('headroom.config').config.Config());"
              "assert 'tree_sitter' in sys.modules")
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], check=True)
