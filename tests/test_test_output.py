"""Test runner output: failures, errors, tracebacks and the summary stay; passing tests fold
into counted markers whose refs give the lines back."""

from __future__ import annotations

import pytest
from conversations import reconstruct_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_markers
from headroom.compressors.base import Compressed
from headroom.compressors.logs.runners import classify, compress
from headroom.compressors.lossless import fold_lines
from headroom.config import Config

CFG = Config()


reconstruct = reconstruct_lines


def pytest_verbose(passed: int = 200, captured: int = 0) -> str:
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0 -- /usr/bin/python",
        "rootdir: /repo",
        f"collecting ... collected {passed + 5} items",
        "",
    ]
    for i in range(passed):
        lines.append(f"tests/test_math.py::test_square[{i}] PASSED{' ' * 30}[{100 * i // (passed + 5):3d}%]")
        if i == passed // 2:
            lines.append("tests/test_math.py::test_lookup FAILED                                   [ 50%]")
            lines.extend(f"tests/test_math.py::test_skip[{k}] SKIPPED (no db)                  [ 50%]"
                         for k in range(4))
    lines += [
        "",
        "=================================== FAILURES ===================================",
        "_________________________________ test_lookup __________________________________",
        "",
        "    def test_lookup():",
        '>       assert helper("b") == 1',
        "E       KeyError: 'b'",
        "",
        "tests/test_math.py:19: KeyError",
    ]
    if captured:
        lines.append("------------------------------ Captured log call -------------------------------")
        lines.extend(f"WARNING  app:test_math.py:18 retrying connection attempt {k} to db-{k % 3}"
                     for k in range(captured))
    lines += [
        "=========================== short test summary info ============================",
        "FAILED tests/test_math.py::test_lookup - KeyError: 'b'",
        f"=================== 1 failed, {passed} passed, 4 skipped in 0.92s ===================",
    ]
    return "\n".join(lines)


GO = "\n".join(
    [line for i in range(60) for line in (f"=== RUN   TestAdd{i}", f"--- PASS: TestAdd{i} (0.00s)")]
    + ["=== RUN   TestParse", "    parse_test.go:12: got 3, want 4", "--- FAIL: TestParse (0.00s)",
       "=== RUN   TestLog", *(f"    log_test.go:{k}: step {k} of the warm-up sequence" for k in range(5, 20)),
       "--- PASS: TestLog (0.01s)",
       "FAIL", "FAIL\texample.com/pkg\t0.012s"]
)

CARGO = "\n".join(
    ["running 83 tests"]
    + [f"test tests::adds_{i} ... ok" for i in range(80)]
    + ["test tests::slow ... ignored", "test tests::wrong_sum ... FAILED", "", "failures:", "",
       "---- tests::wrong_sum stdout ----", "thread 'tests::wrong_sum' panicked at src/lib.rs:126:30:",
       "assertion `left == right` failed", "  left: 4", " right: 5", "", "failures:", "    tests::wrong_sum", "",
       "test result: FAILED. 80 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"]
)

JEST = "\n".join(
    ["PASS src/sum.test.js"]
    + [f"  ✓ adds {i} + 1 ({i % 4} ms)" for i in range(70)]
    + ["FAIL src/parse.test.js", "  ✕ parses dates (12 ms)", "",
       "  ● parse › parses dates", "", "    expect(received).toBe(expected)", "",
       "    Expected: 2024", "    Received: 1970", "",
       "Tests:       1 failed, 70 passed, 71 total"]
)

UNITTEST = "\n".join(
    [f"test_n{i:03d} (pkg.tests.T.test_n{i:03d}) ... ok" for i in range(120)]
    + ["test_bad (pkg.tests.T.test_bad) ... FAIL", "test_skip (pkg.tests.T.test_skip) ... skipped 'flaky'", "",
       "=" * 70, "FAIL: test_bad (pkg.tests.T.test_bad)", "-" * 70, "Traceback (most recent call last):",
       '  File "/repo/pkg/tests.py", line 7, in bad', "    self.assertEqual([1, 2, 3], [1, 2, 4])",
       "AssertionError: Lists differ: [1, 2, 3] != [1, 2, 4]", "", "-" * 70, "Ran 122 tests in 0.003s", "",
       "FAILED (failures=1, skipped=1)"]
)


@pytest.mark.parametrize(("text", "kept", "counts"), [
    (pytest_verbose(), ["test_lookup FAILED", "E       KeyError: 'b'", "1 failed, 200 passed, 4 skipped in 0.92s",
                        "collected 205 items"], ["passed", "skipped"]),
    (GO, ["parse_test.go:12: got 3, want 4", "--- FAIL: TestParse", "FAIL\texample.com/pkg\t0.012s"], ["60 passed"]),
    (CARGO, ["test tests::wrong_sum ... FAILED", "  left: 4", "test result: FAILED. 80 passed"], ["80 passed"]),
    (JEST, ["✕ parses dates", "Received: 1970", "Tests:       1 failed, 70 passed, 71 total"], ["70 passed"]),
    (UNITTEST, ["test_bad (pkg.tests.T.test_bad) ... FAIL", "AssertionError: Lists differ", "Ran 122 tests"],
     ["120 passed"]),
], ids=["pytest", "go", "cargo", "jest", "unittest"])
def test_failures_stay_and_passing_tests_fold_into_counts(text: str, kept: list[str], counts: list[str]) -> None:
    comp = compress(text, "", CFG)
    for piece in kept:
        assert piece in comp.text
    summaries = " ".join(m.summary for m in find_markers(comp.text))
    for piece in counts:
        assert piece in summaries
    assert len(comp.text) < 0.5 * len(text)
    assert reconstruct(comp) == text


def test_pytest_counts_are_exact() -> None:
    comp = compress(pytest_verbose(200), "", CFG)
    tally: dict[str, int] = {}
    for m in find_markers(comp.text):
        for part in m.summary.split(": ", 1)[1].split(", "):
            n, what = part.split(" ", 1)
            tally[what] = tally.get(what, 0) + int(n.replace(",", ""))
    assert tally == {"passed": 200, "skipped": 4}


def test_go_output_of_a_passing_test_folds_but_a_failing_one_stays() -> None:
    comp = compress(GO, "", CFG)
    assert "log_test.go:9: step 9" not in comp.text
    assert "parse_test.go:12" in comp.text


def test_long_captured_log_is_compressed_but_the_traceback_is_not() -> None:
    text = pytest_verbose(100, captured=300)
    comp = compress(text, "", CFG)
    assert "E       KeyError: 'b'" in comp.text and '>       assert helper("b") == 1' in comp.text
    assert "retrying connection attempt 150 " not in comp.text
    assert any("similar lines" in m.summary for m in find_markers(comp.text))
    assert reconstruct(comp) == text


def test_a_passing_test_named_in_the_question_is_kept() -> None:
    comp = compress(pytest_verbose(200), "Did test_square[137] pass?", CFG)
    assert "tests/test_math.py::test_square[137] PASSED" in comp.text


def test_classify() -> None:
    assert classify("tests/test_a.py::test_x PASSED                     [ 10%]") == ("passed", 1)
    assert classify("tests/test_a.py::test_x FAILED                     [ 10%]") is None
    assert classify("tests/test_a.py ..s..x                             [ 10%]") == ("dots", 6)
    assert classify("tests/test_a.py ..F..                              [ 10%]") is None
    assert classify("test foo::bar ... ok") == ("passed", 1)
    assert classify("test foo::bar ... FAILED") is None
    assert classify("    --- PASS: TestX/sub (0.00s)") == ("passed", 1)
    assert classify("--- FAIL: TestX (0.00s)") is None
    assert classify("ok 3 - adds # SKIP") == ("skipped", 1)
    assert classify("not ok 4 - parses") is None
    assert classify("x") is None


def test_lossless_and_ccr_off() -> None:
    text = pytest_verbose(120)
    assert compress(text, "", CFG.with_(lossless_only=True)) == Compressed(fold_lines(text), "test_output:lossless")
    off = compress(text, "", CFG.with_(ccr=False))
    assert off.omissions == [] and find_markers(off.text) and all(m.ref is None for m in find_markers(off.text))


def test_already_compressed_is_unchanged() -> None:
    once = compress(pytest_verbose(150), "", CFG)
    assert compress(once.text, "", CFG).text == once.text


_LINES = st.one_of(
    st.builds(lambda i: f"tests/t.py::test_{i} PASSED", st.integers(0, 999)),
    st.builds(lambda i: f"tests/t.py::test_{i} FAILED", st.integers(0, 999)),
    st.builds(lambda i: f"test m::t{i} ... ok", st.integers(0, 99)),
    st.sampled_from(["E   assert 1 == 2", "....", "=== RUN   TestA", "--- PASS: TestA (0.00s)", "", "  ✓ works"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_LINES, max_size=250))
def test_properties_reconstruct_deterministic_never_longer(lines: list[str]) -> None:
    text = "\n".join(lines)
    comp = compress(text, "", CFG)
    assert reconstruct(comp) == text
    assert len(comp.text) <= len(text)
    assert compress(text, "", CFG) == comp
