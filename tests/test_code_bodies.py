"""Function bodies left out of the first parse: which spans are left out, that a wrong
guess is caught, and that the skeleton is byte for byte the one a parse of the whole file
gives (brace languages and Python)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_code_property import js_function
from test_code_samples import SAMPLES, restore

import headroom.compressors.code as code
from headroom.compressors.code import compress, syntax_errors
from headroom.compressors.code.bodies import body_spans
from headroom.compressors.code.indented import indented_spans
from headroom.compressors.code.languages import grammar
from headroom.compressors.code.source import Source
from headroom.config import Config

SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
CFG = Config(options={"code": {"min_tokens": 50, "min_saving": 0.0}})

GO = """package demo

import "fmt"

// Config holds the settings
// of one run.
type Config struct {
	Name    string
	Retries int
}

func (c *Config) Load(path string) (int, error) {
	n := 0
Loop:
	for i := 0; i < c.Retries; i++ {
		if i > 1 {
			break Loop
		}
		n++
	}
	return n, nil
}

func multi(
	a int,
	b int,
) error {
	fmt.Println(a, b)
	fmt.Println(b, a)
	return nil
}
"""

RAW = """
func raw() string {
	x := 1
	y := 2
	return `
}
` + fmt.Sprint(x, y)
}
"""


COMMENTED = """
/*
func commented() {
	x := 1
	y := 2
	z := 3
}
*/
"""


def _rows(text: str) -> list[tuple[int, int]]:
    source = Source.of(text)
    assert source is not None
    return [(source.row_at(start), source.row_at(end) - 1) for start, end in body_spans(source.view, 1000)]


def _errors(lang: str, text: str) -> int:
    gram = grammar(lang)
    assert gram is not None
    return syntax_errors(gram.parser().parse(text.encode()))


def test_only_function_bodies_are_left_out() -> None:
    lines = GO.split("\n")
    assert _rows(GO) == [(lines.index("\tn := 0"), lines.index("\treturn n, nil")),
                         (lines.index("\tfmt.Println(a, b)"), lines.index("\treturn nil"))]
    source = Source.of(GO)
    gram = grammar("go")
    assert source is not None and gram is not None
    parsed = code._without_bodies(source, gram)
    assert parsed is not None
    root = parsed[1].root_node  # the struct's fields are in the tree, Load's statements are not
    assert "field_declaration_list" in str(root) and "labeled_statement" not in str(root)
    java = ("class A {\n    A() {\n        int a = 1;\n        int b = 2;\n        int c = 3;\n    }\n"
            "    // void f() {\n    static int f(int x) throws E {\n        if (x > 0) {\n            x--;\n"
            "            x--;\n        }\n        return x;\n    }\n}\n")
    assert _rows(java) == [(2, 4), (8, 12)]  # not the class, the comment or the `if`


RUST = """impl<R: Read> Reader<R> {
    pub fn new(reader: R) -> Self {
        let n = 0;
        let m = 1;
        Reader { reader, n, m }
    }

    fn quote(&mut self) -> Result<()> {
        match self.peek()? {
            b'"' => self.eat(),
            _ => self.fail(),
        }
    }

    fn parse<'s, T, F>(
        &'s mut self,
        f: F,
    ) -> Result<T>
    where
        F: Fn(&[u8]) -> T,
    {
        let x = f(&self.buf);
        self.pos += 1;
        Ok(x)
    }
}
"""

JAVA = """class Reader {
    public Object invoke(Call call, Method method,
                         long opnum) throws Exception {
        Object a = call.run();
        Object b = method.run();
        return opnum > 0 ? a : b;
    }

    protected Key generate(KeySpec spec)
        throws InvalidKeySpecException {
        if (spec == null) {
            throw new InvalidKeySpecException("null");
        }
        return null;
    }
}
"""


def test_signatures_over_several_lines_and_rust_constructors() -> None:
    """Rust: ``fn new(`` (no Java ``new``), a ``b'"'`` literal (not an open string), a ``where``
    clause with ``{`` alone on its line; Java: wrapped parameters and a ``throws`` line."""
    rust, java = RUST.split("\n"), JAVA.split("\n")
    assert _rows(RUST) == [(2, 4), (8, 11), (21, 23)]
    assert _rows(JAVA) == [(3, 5), (10, 13)]
    for lang, text in (("rust", RUST), ("java", JAVA)):
        source, gram = Source.of(text), grammar(lang)
        assert source is not None and gram is not None
        parsed = code._without_bodies(source, gram)
        assert parsed is not None, lang
        assert [(f.first, f.last) for f in parsed[2].funcs] == _rows(text)
    assert rust[21].strip() == "let x = f(&self.buf);" and java[10].strip() == "if (spec == null) {"


def test_a_body_that_opens_a_string_it_does_not_close_stays_in() -> None:
    """raw()'s "closing line" is inside its raw string: leaving it out up to there would parse."""
    assert _rows(GO + RAW) == _rows(GO)


def test_a_wrong_guess_is_parsed_again_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = GO + COMMENTED  # looks like a function, but it is in a comment
    source = Source.of(text)
    gram = grammar("go")
    assert source is not None and gram is not None
    spans = body_spans(source.view, 1000)
    assert len(spans) == 3
    parsed = code._without_bodies(source, gram)  # the third span is no function's body: parsed again without it
    assert parsed is not None and parsed[3] == spans[:2]
    comp = _skeleton_as_whole(monkeypatch, text, "")
    assert _errors("go", comp.text) == 0


def _skeleton_as_whole(monkeypatch: pytest.MonkeyPatch, text: str, question: str) -> Any:
    """``text`` compressed: a skeleton that restores to ``text`` and is byte for byte the one
    a parse of the whole file gives."""
    comp = compress(text, question, CFG)
    assert comp.strategy == "code:skeleton" and restore(comp) == text
    assert comp.text == _whole_parse(monkeypatch, text, question).text
    return comp


def _whole_parse(monkeypatch: pytest.MonkeyPatch, text: str, question: str) -> Any:
    with monkeypatch.context() as m:
        m.setattr(code, "body_spans", lambda view, max_lines: [])
        m.setattr(code, "indented_spans", lambda source, max_lines: [])
        return compress(text, question, CFG)


@pytest.mark.parametrize("lang", sorted(SAMPLES))
@pytest.mark.parametrize("question", ["", "how does the retry backoff handle a signed cookie?"])
def test_same_skeleton_as_a_parse_of_the_whole_file(monkeypatch: pytest.MonkeyPatch, lang: str,
                                                    question: str) -> None:
    text = SAMPLES[lang]
    used: list[bool] = []
    real = code._without_bodies

    def spy(source: Source, gram: Any, tried: list[Any] | None = None) -> Any:
        parsed = real(source, gram, tried)
        used.append(parsed is not None)
        return parsed

    monkeypatch.setattr(code, "_without_bodies", spy)
    comp = compress(text, question, CFG)
    assert used == [True]
    plain = _whole_parse(monkeypatch, text, question)
    assert (comp.text, comp.strategy, comp.omissions) == (plain.text, plain.strategy, plain.omissions)


def test_a_kept_body_with_an_error_the_first_parse_missed() -> None:
    """The first parse sees no error in a body it left out; the question keeps that body, so the
    output shows the error: the gate must compare with the input's real errors."""
    more = "".join(f"\nfunc step{i}(x int) int {{\n\ty := x * {i}\n\tfmt.Println(y)\n\tfmt.Println(y, x)\n"
                   f"\tfmt.Println(x, y, x)\n\treturn y + 1\n}}\n" for i in range(6))
    broken = (GO + more).replace("\t\tn++\n", "\t\tn++ +\n")
    assert _errors("go", broken) > 0
    comp = compress(broken, "how does Load count the retries?", CFG)
    assert comp.strategy == "code:skeleton" and "n++ +" in comp.text
    assert _errors("go", comp.text) <= _errors("go", broken) and restore(comp) == broken


def test_one_line_bodies_are_left_out_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a one-line body costs the parser more than the range that skips it."""
    short = "\nfunc (c *Config) Named() string {\n\treturn c.Name\n}\n"
    rows = _rows(GO + short)
    assert len(rows) == 3 and rows[2][0] == rows[2][1] == (GO + short).split("\n").index("\treturn c.Name")
    _skeleton_as_whole(monkeypatch, GO + short, "")


def _steps(n: int) -> str:
    return "".join(f"\nfunc step{i}(x int) int {{\n\ty := x * {i}\n\tfmt.Println(y)\n\tfmt.Println(y, x)\n"
                   f"\tfmt.Println(x, y, x)\n\treturn y + 1\n}}\n" for i in range(n))


def test_an_error_of_the_files_own_away_from_the_bodies_keeps_the_parse_without_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A construct the grammar rejects is an error with or without the bodies: the parse
    that left them out is kept, and the skeleton is the one the whole parse gives."""
    text = GO + _steps(80) + "\nvar broken = [\n"  # the file's own error, rows away from every body
    source, gram = Source.of(text), grammar("go")
    assert source is not None and gram is not None and len(source.src) > code.SAMPLE_BYTES
    parsed = code._without_bodies(source, gram)
    assert parsed is not None
    _, tree, _, spans = parsed
    assert tree.root_node.has_error and len(spans) >= 4
    assert gram.parser().parse(source.src).root_node.has_error  # the whole file has it too
    _skeleton_as_whole(monkeypatch, text, "how does Load count the retries?")


def test_an_error_at_a_body_is_parsed_whole_from_the_first_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error on a row next to a span may be one that leaving the span out caused: the
    guess is not taken; the whole parse goes on from that tree (only the bodies are
    parsed) and is the same tree a parse from scratch gives."""
    text = GO + _steps(4) + "\nfunc bad(x int) int {\n\ty := x\n\tfmt.Println(y)\n\treturn y\n})\n"
    source, gram = Source.of(text), grammar("go")
    assert source is not None and gram is not None
    tried: list[Any] = []
    assert code._without_bodies(source, gram, tried) is None and len(tried) == 1
    assert tried[0].root_node.has_error
    _, _, tree = code._parse(source, gram, tried[0])
    assert str(tree.root_node) == str(gram.parser().parse(source.src).root_node)
    _skeleton_as_whole(monkeypatch, text, "how does Load count the retries?")


def test_errors_a_close_relative_does_not_have_are_not_taken_for_the_files_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """TypeScript routed as JavaScript: the type declarations are errors away from every
    body, but TypeScript parses the file's start without them, so the parse without bodies
    is not kept and the whole parse picks TypeScript, as it would have anyway."""
    head = "interface Options {\n  scale: number;\n  limit?: number;\n}\n\ntype Id = string | number;\n"
    steps = "".join(f"\nfunction step{i}(input, options) {{\n  const value = input * options.scale * {i};\n"
                    f"  if (value > options.limit) {{\n    return options.limit;\n  }}\n  return value;\n}}\n"
                    for i in range(80))
    text = head + steps
    source, gram = Source.of(text), grammar("javascript")
    assert source is not None and gram is not None and len(source.src) > code.SAMPLE_BYTES
    assert code._without_bodies(source, gram) is None
    assert code._parse(source, gram)[0].spec.name == "typescript"
    comp = compress(text, "which step clamps the value?", CFG.with_(options={"code": {"language": "javascript"}}))
    assert comp.strategy == "code:skeleton" and restore(comp) == text


#: Top-level Go declarations; the raw string and the comment hold what looks like a function.
GO_SHAPES = {
    "func": "func f{k}(a int) string {{\n{inner}\n\treturn x\n}}",
    "method": "// T{k} does things.\nfunc (t *T) M{k}() {{\n{inner}\n}}",
    "struct": "type T{k} struct {{\n\tA int\n\tB string\n\tC func() {{\n\t}}\n}}",
    "raw": "func r{k}() string {{\n{inner}\n\treturn `\n}}\nfunc fake() {{\n`\n}}",
    "label": "func l{k}() {{\n{inner}\nOut:\n\tfor {{\n\t\tbreak Out\n\t}}\n}}",
    "comment": "/*\nfunc commented{k}() {{\n\tx := 1\n\ty := 2\n\tz := 3\n}}\n*/",
    "multi": "func m{k}(\n\ta int,\n) error {{\n{inner}\n\treturn nil\n}}",
    "closure": "var c{k} = func() {{\n{inner}\n}}",
}


@st.composite
def go_file(draw: st.DrawFn) -> str:
    parts = ["package gen", 'import "fmt"']
    for k in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(sorted(GO_SHAPES)))
        body = draw(st.lists(st.sampled_from([
            "\tx := fmt.Sprint(\"}\")", "\tif x != \"\" {\n\t\tx = x + \"{\"\n\t}", "\t// a { comment",
            "\tfor i := 0; i < 3; i++ {\n\t\tx += fmt.Sprint(i)\n\t}", "", "\ty := []int{\n\t\t1,\n\t}"]),
            min_size=2, max_size=6))
        inner = "\n".join(["\tx := \"\"", *body, "\t_ = x"])
        parts.append(GO_SHAPES[kind].format(k=k, inner=inner))
    return "\n\n".join(parts) + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=SLOW_OK)
@given(go_file(), st.sampled_from(["", "what does M3 return?", "where is the label Out used?"]))
def test_generated_go_skeleton_matches_the_whole_parse(monkeypatch: pytest.MonkeyPatch, text: str,
                                                       question: str) -> None:
    comp = compress(text, question, CFG)
    plain = _whole_parse(monkeypatch, text, question)
    assert (comp.text, comp.strategy) == (plain.text, plain.strategy)
    assert _errors("go", comp.text) <= _errors("go", text) and restore(comp) == text


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_OK)
@given(st.lists(js_function(), min_size=2, max_size=8), st.sampled_from(["", "what does load return?"]))
def test_generated_javascript_skeleton_matches_the_whole_parse(monkeypatch: pytest.MonkeyPatch, functions: list[str],
                                                               question: str) -> None:
    text = "'use strict';\n\n" + "\n\n".join(functions) + "\n"
    comp = compress(text, question, CFG)
    plain = _whole_parse(monkeypatch, text, question)
    assert (comp.text, comp.strategy) == (plain.text, plain.strategy)


PY = """import os


def documented(path):
    \"\"\"Read the file.

    More words.
    \"\"\"
    with open(path) as f:
        data = f.read()
    return data


def guarded(x):
    # a comment before the code
    if x is None:
        return 0
    y = x * 2
    for i in range(3):
        y += i
    return y
    # a trailing comment


class Box:
    def nested_end(self):
        total = 0
        for i in range(3):
            total += i
            total -= 1
        # after a nested block

    async def fetch(self, url):
        reply = await self.get(url)
        text = reply.text
        text = text.strip()
        return text


def short(x):
    return x
"""


def _py_rows(text: str) -> list[tuple[int, int]]:
    source = Source.of(text)
    assert source is not None
    return [(source.row_at(start), source.row_at(end) - 1) for start, end in indented_spans(source, 1000)]


def test_python_bodies_keep_their_docstring_or_one_line_of_code() -> None:
    lines = PY.split("\n")
    row = lines.index
    assert _py_rows(PY) == [
        (row("    with open(path) as f:"), row("    return data")),  # after the docstring
        (row("    if x is None:"), row("        return 0")),  # before `y = x * 2` ...
        (row("    for i in range(3):"), row("    return y")),  # ... and after it; the comment stays
        (row("        text = reply.text"), row("        return text")),
    ]  # nested_end: its comment's place depends on the indentation; short: nothing to leave out
    source, gram = Source.of(PY), grammar("python")
    assert source is not None and gram is not None
    parsed = code._without_bodies(source, gram)
    assert parsed is not None
    funcs = {f.name: (f.first, f.last) for f in parsed[2].funcs}
    assert funcs["documented"] == (row("    \"\"\"Read the file."), row("    return data"))
    assert funcs["guarded"] == (row("    # a comment before the code"), row("    # a trailing comment"))
    assert funcs["fetch"] == (row("        reply = await self.get(url)"), row("        return text"))


#: A ``def`` deeper than the skeleton looks (its body is no skeleton function's), and
#: one in a string.
DEEP = """
if DEBUG:
    pass
else:
    if FAST:
        pass
    else:
        def deep(x):
            y = x + 1
            z = y * 2
            w = z - 3
            return w
EXAMPLE = '''
def example(x):
    y = 1
    z = 2
    return y
'''
"""


def test_a_python_def_nested_too_deep_is_parsed_again_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = PY + DEEP
    source, gram = Source.of(text), grammar("python")
    assert source is not None and gram is not None
    spans = indented_spans(source, 1000)
    assert len(spans) == 5  # not one in the string: it follows an odd number of triple quotes
    parsed = code._without_bodies(source, gram)  # the fifth span is in no function: parsed again without it
    assert parsed is not None and parsed[3] == spans[:4]
    comp = _skeleton_as_whole(monkeypatch, text, "")
    assert _errors("python", comp.text) == 0


#: Python definitions; ``{inner}`` is a body of statements at four spaces.
PY_SHAPES = {
    "doc": 'def d{k}(a, b=(1, 2)):\n    """Doc {k}.\n\n    More.\n    """\n{inner}\n    return a',
    "doc1": "def o{k}(a) -> int:\n    'One line.'\n{inner}",
    "compound": "def c{k}(a):\n    if a:\n        return 1\n{inner}\n    return 2",
    "try": "def t{k}():\n    try:\n        x = 1\n    except ValueError:\n        x = 2\n{inner}",
    "nested": "def n{k}():\n    def inner(y):\n        return y\n{inner}\n    return inner",
    "method": "class C{k}:\n    \"\"\"A class.\"\"\"\n\n    @property\n    def m(self):\n{inner8}\n\n    async def a(\n"
              "        self,\n        x: dict[str, int],\n    ) -> None:\n{inner8}",
    "string": 'S{k} = """\ndef fake{k}():\n    a = 1\n    b = 2\n    c = 3\n    d = 4\n"""',
    "col0": 'def s{k}():\n    q = """\nSELECT 1\n"""\n{inner}\n    return q',
    "comment0": "def m{k}():\n    x = 1\n# a comment at the margin\n{inner}",
    "trailing": "def r{k}():\n{inner}\n    # trailing\n\n# after",
    "backslash": "def b{k}():\n{inner}\n    return 1 + \\\n        2",
    "oneliner": "def l{k}(x): return x",
    "headcomment": "def h{k}(x):  # why\n    # first, a comment\n\n{inner}",
}
PY_STATEMENTS = ["    x = [1,\n         2]", "    if x:\n        x = 3\n    else:\n        x = 4", "    # note (",
                 "    for i in range(2):\n        x = i", "", "    y = 'a' \\\n        'b'", '    z = """\n  }\n"""',
                 "    with open(x) as f:\n        pass", "    x = (\n        1\n    )"]


@st.composite
def py_file(draw: st.DrawFn) -> str:
    parts = ["import os"]
    for k in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(sorted(PY_SHAPES)))
        body = draw(st.lists(st.sampled_from(PY_STATEMENTS), min_size=2, max_size=6))
        inner = "\n".join(["    x = 0", *body, "    _ = x"])
        inner8 = "\n".join("    " + line if line else line for line in inner.split("\n"))
        parts.append(PY_SHAPES[kind].format(k=k, inner=inner, inner8=inner8))
    return "\n\n\n".join(parts) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=SLOW_OK)
@given(py_file(), st.sampled_from(["", "what does c3 return?", "where is inner used?"]))
def test_generated_python_skeleton_matches_the_whole_parse(monkeypatch: pytest.MonkeyPatch, text: str,
                                                           question: str) -> None:
    assert _errors("python", text) == 0
    comp = compress(text, question, CFG)
    plain = _whole_parse(monkeypatch, text, question)
    assert (comp.text, comp.strategy) == (plain.text, plain.strategy)
    assert _errors("python", comp.text) == 0 and restore(comp) == text
