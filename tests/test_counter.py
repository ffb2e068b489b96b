"""Token counting pieces: cuts that keep sums exact, the size-floor check, and the
worker thread a large unit's compression runs on while its tokens are counted."""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import headroom.workers as workers
from headroom import compress
from headroom.compressors.code.languages import SPECS, _load
from headroom.counter import Counter, is_safe_line, next_safe_start
from headroom.tokens import MAX_TOKEN_BYTES, count_text, encoding_for_model, token_counter
from headroom.warmup import warm_up

# Characters that stress the tokenizer's pre-split: line breaks, runs of spaces and tabs,
# slashes and other punctuation next to line starts, digits, letters, non-ASCII.
_ALPHABET = st.sampled_from(list("\n\n\n\r  \t/ //*#(){};:.,'\"-_=+aZx09é中\u0301\u00a0\x0b"))
_TEXT = st.lists(st.one_of(_ALPHABET, st.sampled_from(["    ", "\n\n", "// c", "  12\t", "def f():", "}\n"])),
                 max_size=120).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT, st.integers(min_value=0, max_value=200), st.sampled_from(["gpt-4o", "gpt-4"]))
def test_a_cut_at_a_safe_line_start_keeps_the_count(text: str, at: int, model: str) -> None:
    enc = encoding_for_model(model)
    cut = next_safe_start(text, at)
    assert cut == 0 or cut == len(text) or (text[cut - 1] == "\n" and is_safe_line(text[cut:].split("\n")[0]))
    whole = len(enc.encode_ordinary(text))
    assert len(enc.encode_ordinary(text[:cut])) + len(enc.encode_ordinary(text[cut:])) == whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_TEXT, st.sampled_from(["<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "\ud83d",
                                                   "\udc00x"])), max_size=6).map("".join),
       st.sampled_from(["gpt-4o", "gpt-4"]))
def test_token_counter_counts_what_encode_ordinary_yields(text: str, model: str) -> None:
    """Special-token strings as ordinary text, lone surrogates as tiktoken replaces them."""
    assert token_counter(model)(text) == len(encoding_for_model(model).encode_ordinary(text)) == count_text(text, model)


def test_safe_lines() -> None:
    assert is_safe_line("    x = 1") and is_safe_line("   12\tfoo") and is_safe_line("}")
    assert not is_safe_line("") and not is_safe_line("   \t") and not is_safe_line("// comment")
    assert not is_safe_line("\r") and not is_safe_line("\u00a0\u00a0")


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.integers(min_value=1, max_value=60))
def test_at_least_agrees_with_a_full_count(text: str, floor: int) -> None:
    counter = Counter("gpt-4o")
    long = text * 40  # past the prefix threshold for small floors
    for sample in (text, long):
        assert counter.at_least(sample, floor) == (counter.count(sample) >= floor)


def test_at_least_counts_only_a_prefix_of_a_long_text() -> None:
    counter = Counter("gpt-4o")
    seen: list[int] = []
    count = counter._count
    counter._count = lambda t: (seen.append(len(t)), count(t))[1]
    text = "\n".join(f"line {i} of a long tool output" for i in range(1_000))
    assert 300 * 6 < len(text) < 300 * MAX_TOKEN_BYTES
    assert counter.at_least(text, 300)
    assert 0 < sum(seen) < len(text) / 5


def test_at_least_needs_no_count_for_a_text_no_token_could_cover() -> None:
    counter = Counter("gpt-4o")
    counter._count = lambda t: pytest.fail("counted")
    assert counter.at_least("x" * (300 * MAX_TOKEN_BYTES), 300)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_no_token_is_longer_than_max_token_bytes(model: str) -> None:
    assert max(map(len, encoding_for_model(model).token_byte_values())) <= MAX_TOKEN_BYTES


@pytest.fixture
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "WORKERS", 2)
    monkeypatch.setattr(workers, "_busy", 0)


def test_run_beside_runs_the_job_on_a_worker(two_workers: None) -> None:
    picked_up = threading.Event()
    where: list[int] = []

    def job() -> str:
        where.append(threading.get_ident())
        picked_up.set()
        return "job"

    def here() -> str:
        picked_up.wait(10)  # the job is taken by a worker meanwhile
        return "here"

    assert workers.run_beside(job, here) == ("job", "here")
    assert where and where[0] != threading.get_ident()
    assert workers._busy == 0


def test_run_beside_runs_inline_when_every_worker_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "WORKERS", 2)
    monkeypatch.setattr(workers, "_busy", 2)
    where: list[int] = []
    assert workers.run_beside(lambda: where.append(threading.get_ident()) or 1, lambda: 2) == (1, 2)
    assert where == [threading.get_ident()]


def test_run_beside_takes_back_a_job_no_worker_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "WORKERS", 1)
    monkeypatch.setattr(workers, "_busy", 0)
    monkeypatch.setattr(workers, "_pool", None)
    workers.run_beside(lambda: None, lambda: None)  # a fresh pool with one thread
    gate = threading.Event()
    assert workers._pool is not None
    stuck = workers._pool.submit(gate.wait, 10)  # its only thread, busy behind the slot count
    where: list[int] = []
    try:
        assert workers.run_beside(lambda: where.append(threading.get_ident()) or "job", lambda: "here") == (
            "job", "here")
    finally:
        gate.set()
        stuck.result(10)
    assert where == [threading.get_ident()]  # queued, taken back, run here
    assert workers._busy == 0


def test_run_beside_propagates_errors_and_frees_the_worker(two_workers: None) -> None:
    def boom() -> None:
        raise ValueError("job failed")

    with pytest.raises(ValueError, match="job failed"):
        workers.run_beside(boom, lambda: threading.Event().wait(0.05))
    with pytest.raises(KeyError):
        workers.run_beside(lambda: 1, lambda: {}["missing"])
    assert workers._busy == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_gets_its_own_workers(two_workers: None) -> None:
    workers.run_beside(lambda: 1, lambda: 2)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: must not wait on the parent's threads
        ok = workers.run_beside(lambda: 3, lambda: threading.Event().wait(0.05)) == (3, False)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_offloaded_compression_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.compressors.code.skeleton as skeleton
    import headroom.pipeline as pipeline

    source = Path(pipeline.__file__).read_text() + "\n\n" + Path(skeleton.__file__).read_text()
    read = "\n".join(f"{i:6d}\t{line}" for i, line in enumerate(source.split("\n"), 1))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Where does the parser handle escapes?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": read},
    ]
    assert len(messages[2]["content"]) >= pipeline.OFFLOAD_CHARS
    monkeypatch.setattr(workers, "WORKERS", 2)
    threaded = compress(copy.deepcopy(messages), "gpt-4o")
    monkeypatch.setattr(workers, "WORKERS", 0)
    inline = compress(copy.deepcopy(messages), "gpt-4o")
    assert threaded.messages == inline.messages
    assert (threaded.tokens_before, threaded.tokens_after) == (inline.tokens_before, inline.tokens_after)
    assert threaded.tokens_after < threaded.tokens_before


def test_warm_up_loads_every_grammar_starts_the_workers_and_grows_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.warmup as warmup

    for thread in threading.enumerate():  # the one compress() may have started
        if thread.name == "headroom-warm-up":
            thread.join(30)
    import headroom.pipeline as pipeline

    results: list[Any] = []
    real = pipeline.compress

    def spy(*args: Any, **kwargs: Any) -> Any:
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(pipeline, "compress", spy)
    monkeypatch.setattr(warmup, "_done", False)
    warm_up(background=False)
    assert all(_load(name) is not None for name in SPECS)
    [primer] = results  # one large file read, compressed like any other
    assert primer.tokens_before > 15_000 and [u.strategy for u in primer.units] == ["code:skeleton"]
    names = {thread.name for thread in threading.enumerate()}
    assert sum(name.startswith("headroom_") for name in names) >= workers.WORKERS


def test_concurrent_calls_share_the_workers_and_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers on many threads (a server): jobs beyond the idle workers run inline, and
    every call gives the bytes a lone call gives."""
    import headroom.pipeline as pipeline

    source = Path(pipeline.__file__).read_text()
    read = "\n".join(f"{i:6d}\t{line}" for i, line in enumerate((source * 2).split("\n"), 1))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "How are units counted?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": read},
    ]
    monkeypatch.setattr(workers, "WORKERS", 2)
    alone = compress(copy.deepcopy(messages), "gpt-4o").messages
    results: list[Any] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(compress(copy.deepcopy(messages), "gpt-4o").messages)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 8
    assert all(r == alone for r in results)
    assert alone[2]["content"] != read and workers._busy == 0


@pytest.fixture
def fresh_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "WORKERS", 2)
    monkeypatch.setattr(workers, "_busy", 0)
    monkeypatch.setattr(workers, "_pool", None)
    monkeypatch.setattr(workers, "_tids", [])
    monkeypatch.setattr(workers, "_getcpu", None)  # set again by the new pool, put back afterwards
    workers.start()


def _on_a_worker() -> tuple[int, set[int], int]:
    """(the CPU a job handed to a worker starts on, the affinity it runs with, its thread)."""
    picked_up = threading.Event()
    where = workers._cpu_getter()
    assert where is not None

    def job() -> tuple[int, set[int], int]:
        picked_up.set()
        return where(), os.sched_getaffinity(0), threading.get_ident()

    result, _ = workers.run_beside(job, lambda: picked_up.wait(10))
    return result


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs")
def test_a_job_starts_off_the_callers_cpu_and_may_then_go_anywhere(fresh_pool: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert workers._getcpu is not None  # libc's sched_getcpu was found
    assert workers._getcpu() in os.sched_getaffinity(0)
    allowed = os.sched_getaffinity(0)
    for cpu in sorted(allowed)[:2]:  # wherever the caller runs, the job starts on another CPU
        monkeypatch.setattr(workers, "_getcpu", lambda cpu=cpu: cpu)
        started_on, affinity, ident = _on_a_worker()
        assert started_on != cpu and started_on in allowed
        assert affinity == allowed  # taken back as it started: a starved CPU cannot hold it
        assert ident != threading.get_ident()
    assert workers._busy == 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs")
def test_steering_that_fails_is_given_up_and_the_job_still_runs(fresh_pool: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(tid: int, cpus: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setaffinity", refused)
    _, affinity, ident = _on_a_worker()
    assert ident != threading.get_ident()
    assert affinity == os.sched_getaffinity(0)  # left as the worker was started
    assert workers._getcpu is None  # no further attempts
    assert _on_a_worker()[2] != threading.get_ident()


def test_token_counter_falls_back_when_the_packed_encoder_is_missing_or_differs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.tokens as tokens

    class Core:
        def __init__(self, real: Any, packed: Any) -> None:
            self.encode_ordinary = real.encode_ordinary
            if packed is not None:
                self.encode_to_tiktoken_buffer = packed

    enc = encoding_for_model("gpt-4o")
    text = "a tool output <|endoftext|> with a special-token string"
    for packed in (None, lambda t, allowed: b"\x00" * 4, lambda t: b""):  # missing, wrong count, other signature
        fake = copy.copy(enc)
        monkeypatch.setattr(fake, "_core_bpe", Core(enc._core_bpe, packed), raising=False)
        monkeypatch.setattr(tokens, "_encoding", lambda name, fake=fake: fake)
        tokens._counter.cache_clear()
        assert tokens._counter("o200k_base")(text) == len(enc.encode_ordinary(text))
    tokens._counter.cache_clear()
