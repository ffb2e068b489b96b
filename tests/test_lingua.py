"""The optional LLMLingua-2 prose backend (``headroom[ml]``).

A tiny randomly initialised BERT token classifier, built here with a WordPiece vocabulary
written by the test, stands in for the real checkpoints: the loading, labelling, identifier
protection, markers, deadline and fallbacks are all exercised without any download.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import headroom
from headroom.ccr.markers import find_markers
from headroom.compressors.lossless import fold_lines
from headroom.compressors.text import lingua, prose
from headroom.config import Config

ROOT = Path(__file__).resolve().parents[1]
HAVE_ML = all(importlib.util.find_spec(m) for m in ("llmlingua", "torch", "transformers"))
ml = pytest.mark.skipif(not HAVE_ML, reason="llmlingua/torch/transformers not installed (pip install 'headroom[ml]')")

IDENTIFIERS = ["config_path", "/etc/app.conf", "HTTPServer", "parseHeaders", "v2.3.1", "foo::bar", "--dry-run",
               '"max retries"', "MAX_OPEN", "8080", "retry_count"]
DOC = """# Deployment notes

The deployment service restarts itself whenever the value of config_path changes on disk, and it waits for the \
old workers to finish their current requests before the new ones are started with the fresh settings. The \
operators were surprised by this behaviour during the spring release because nobody had written it down anywhere.

When the HTTPServer accepts a connection on port 8080 it reads the "max retries" value and calls parseHeaders \
before anything else happens, so a broken header file can stop every request long before the application code \
is reached, which makes the failure look like a network problem to the people who are watching the dashboards.

Version v2.3.1 changed the default of MAX_OPEN and renamed foo::bar, and the release notes for that version \
explain that the old name keeps working for one more release so that the teams have enough time to move their \
scripts; running the tool with --dry-run prints what would change without touching any of the files.

The settings file lives in /etc/app.conf on every machine, and the retry_count field in it decides how many \
times a failed job is tried again before the scheduler gives up and sends an alert to the team that owns the \
service, which is usually the platform group during the day and the person on call during the night.

- short item
"""
QUESTION = "why does the deployment restart?"


def _options(model: str, **extra: Any) -> Config:
    # a small extractive budget, so that falling back is visible (the extractive backend cuts DOC too)
    return Config(options={"text": {"backend": "llmlingua", "model": model, "rate": 0.5, "deadline_s": 60.0,
                                    "min_keep_chars": 300, **extra}})


def _extractive(config: Config, text: str = DOC, question: str = QUESTION) -> str:
    return prose.extractive(text, question, config).text


@pytest.fixture(autouse=True)
def _fresh() -> None:
    lingua._reset()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 1-layer BERT token classifier with random weights, named so llmlingua accepts it."""
    if not HAVE_ML:
        pytest.skip("llmlingua/torch/transformers not installed")
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    path = tmp_path_factory.mktemp("models") / "bert-base-multilingual-cased-tiny"
    path.mkdir()
    words = sorted(set(re.findall(r"\w+|[^\w\s]", DOC + " " + QUESTION)))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##s", "##ed", "##ing"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(str(path), do_lower_case=False)  # vocab_file= is gone in v5
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1,
                                                  num_attention_heads=2, intermediate_size=37, num_labels=2))
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return str(path)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any connection attempt (a hub download) is recorded and refused."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "headroom" and r.levelno >= logging.WARNING]


@ml
def test_tiny_model_condenses_prose_and_keeps_identifiers(tiny_model: str, no_network: list[object]) -> None:
    config = _options(tiny_model)
    out = prose.compress(DOC, QUESTION, config)
    assert out.strategy == "llmlingua"
    assert out.text != fold_lines(DOC) and len(out.text) < len(DOC)
    for ident in IDENTIFIERS:
        assert ident in out.text, ident
    for word in ("deployment", "restarts"):  # the question's words stay
        assert out.text.count(word) == DOC.count(word), word
    assert "# Deployment notes" in out.text and "- short item" in out.text  # structure untouched
    originals = {o.ref: o.original for o in out.omissions}
    marks = find_markers(out.text)
    assert marks and len(marks) == len(originals)
    for m in marks:
        assert m.ref in originals and "words omitted from this paragraph" in m.summary
        assert originals[m.ref] in DOC  # a whole original paragraph, verbatim
    assert no_network == []


@ml
def test_output_is_deterministic_across_calls_reloads_and_processes(tiny_model: str) -> None:
    config = _options(tiny_model)
    first = prose.compress(DOC, QUESTION, config)
    assert prose.compress(DOC, QUESTION, config).text == first.text  # memoised
    lingua._reset()  # forget the model and the memo: load and run again
    assert prose.compress(DOC, QUESTION, config).text == first.text
    code = ("import json, sys; from headroom.config import Config; from headroom.compressors.text import prose; "
            "c = Config(options=json.loads(sys.argv[1])); "
            "sys.stdout.write(prose.compress(sys.argv[2], sys.argv[3], c).text)")
    run = subprocess.run([sys.executable, "-c", code, json.dumps(config.options), DOC, QUESTION],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert run.stdout == first.text


@ml
def test_loading_leaves_global_state_alone(tiny_model: str) -> None:
    import os
    import random

    import torch

    random.seed(7)
    torch.manual_seed(7)
    expected = (random.random(), torch.rand(1).item())
    random.seed(7)
    torch.manual_seed(7)
    hashseed = os.environ.get("PYTHONHASHSEED")
    assert prose.compress(DOC, QUESTION, _options(tiny_model)).strategy == "llmlingua"
    assert (random.random(), torch.rand(1).item()) == expected
    assert os.environ.get("PYTHONHASHSEED") == hashseed


@ml
def test_ccr_off_still_marks_but_stores_nothing(tiny_model: str) -> None:
    out = prose.compress(DOC, QUESTION, _options(tiny_model).with_(ccr=False))
    assert out.strategy == "llmlingua" and out.omissions == []
    marks = find_markers(out.text)
    assert marks and all(m.ref is None for m in marks)


@ml
def test_through_the_pipeline_refs_are_retrievable(tiny_model: str) -> None:
    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": DOC}]
    result = headroom.compress(messages, "gpt-4o", config=_options(tiny_model).with_(min_unit_tokens=50))
    unit = result.units[0]
    assert unit.strategy == "llmlingua" and unit.tokens_after < unit.tokens_before and unit.refs
    for ref in unit.refs:
        assert headroom.retrieve(ref) in DOC


@ml
def test_xlm_roberta_models_work_too(tmp_path: Path) -> None:
    """llmlingua's other word splitting (SentencePiece ``▁`` words), with a tiny Unigram tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaForTokenClassification

    path = tmp_path / "llmlingua-2-xlm-roberta-large-tiny"
    words = sorted(set(re.findall(r"[^\W_]+|[^\w\s]|_", DOC)))
    pieces = [(t, 0.0) for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
    pieces += [("▁" + w, -1.0) for w in words] + [(w, -2.0) for w in words] + [("▁", -3.0)]
    backend = Tokenizer(models.Unigram(pieces, unk_id=3))
    backend.pre_tokenizer, backend.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    torch.manual_seed(0)
    model = XLMRobertaForTokenClassification(XLMRobertaConfig(
        vocab_size=len(pieces), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        num_labels=2, max_position_embeddings=520, pad_token_id=1))
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    out = prose.compress(DOC, QUESTION, _options(str(path)))
    assert out.strategy == "llmlingua" and out.omissions and len(out.text) < len(DOC)
    for ident in IDENTIFIERS:
        assert ident in out.text, ident


@pytest.mark.parametrize("model", ["/nonexistent/bert-base-multilingual-cased-x", "models/not-lingua",
                                   ""])
def test_unusable_model_warns_once_and_falls_back(model: str, caplog: pytest.LogCaptureFixture) -> None:
    config = _options(model)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        outs = [prose.compress(DOC, QUESTION, config) for _ in range(3)]
    assert _extractive(config) != fold_lines(DOC)
    assert all(o.text == _extractive(config) and o.strategy == "extractive" for o in outs)
    warned = _warnings(caplog)
    assert len(warned) == 1, warned
    assert "llmlingua" in warned[0] and "extractive" in warned[0]


@ml
def test_wrong_name_is_explained(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="headroom"):
        prose.compress(DOC, QUESTION, _options(str(tmp_path)))
    (msg,) = _warnings(caplog)
    assert "bert-base-multilingual-cased" in msg and "rename" in msg


@ml
def test_uncached_hub_name_never_downloads(no_network: list[object], caplog: pytest.LogCaptureFixture) -> None:
    config = _options("headroom-test/llmlingua-2-bert-base-multilingual-cased-absent")
    with caplog.at_level(logging.WARNING, logger="headroom"):
        outs = [prose.compress(DOC, QUESTION, config) for _ in range(3)]
    assert all(o.text == _extractive(config) for o in outs)
    (msg,) = _warnings(caplog)
    assert "Hugging Face cache" in msg and "huggingface-cli download" in msg
    assert no_network == []


@ml
def test_broken_model_directory_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bert-base-multilingual-cased-broken"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    config = _options(str(bad))
    with caplog.at_level(logging.WARNING, logger="headroom"):
        outs = [prose.compress(DOC, QUESTION, config) for _ in range(3)]
    assert all(o.text == _extractive(config) for o in outs)
    (msg,) = _warnings(caplog)
    assert "could not load" in msg and str(bad) in msg


def test_missing_llmlingua_names_the_extra(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llmlingua" else real(name, *a))
    config = _options("/models/llmlingua-2-bert-base-multilingual-cased-meetingbank")
    with caplog.at_level(logging.WARNING, logger="headroom"):
        out = prose.compress(DOC, QUESTION, config)
        prose.compress(DOC, QUESTION, config)
    assert out.text == _extractive(config)
    (msg,) = _warnings(caplog)
    assert "pip install 'headroom[ml]'" in msg


@ml
def test_zero_deadline_falls_back_without_running_the_model(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object) -> list[tuple[str, int]]:
        raise AssertionError("the model ran")

    monkeypatch.setattr(lingua, "_label", never)
    config = _options(tiny_model, deadline_s=0)
    assert prose.compress(DOC, QUESTION, config).text == _extractive(config)


@ml
def test_missed_deadline_falls_back_and_repeats_its_answer(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = lingua._label

    def slow(*args: Any) -> list[tuple[str, int]]:
        time.sleep(0.5)
        return real(*args)

    monkeypatch.setattr(lingua, "_label", slow)
    config = _options(tiny_model, deadline_s=0.05)
    started = time.perf_counter()
    out = prose.compress(DOC, QUESTION, config)
    assert time.perf_counter() - started < 0.45
    assert out.text == _extractive(config)
    time.sleep(0.6)  # the model has finished by now: the first answer still stands (prefix stability)
    monkeypatch.setattr(lingua, "_label", real)
    assert prose.compress(DOC, QUESTION, config).text == out.text


def test_lossless_only_never_uses_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object) -> list[tuple[str, int]]:
        raise AssertionError("the model ran")

    monkeypatch.setattr(lingua, "_run", never)
    config = _options("/models/bert-base-multilingual-cased").with_(lossless_only=True)
    out = prose.compress(DOC, QUESTION, config)
    assert out.strategy == "fold" and out.text == fold_lines(DOC) and not out.omissions
    assert lingua.compress(DOC, QUESTION, config).strategy == "fold"


def test_labels_map_onto_whole_tokens_without_the_model() -> None:
    """The rebuild from labels: unknown words, split identifiers, punctuation, question words."""
    para = ("Alpha beta gamma_delta ☃ epsilon zeta, eta theta iota kappa lambda mu nu xi omicron pi rho sigma "
            "tau upsilon phi chi psi omega.")
    words = [(w, 0) for w in re.findall(r"\w+|[^\w\s]", para) if w != "☃"]  # ☃ is [UNK]: never labelled
    words[1] = ("beta", 1)
    out = lingua._render(para, [(0, len(para), False)], [0], para, words, "what about omega?", 20, "text",
                         Config())
    assert out is not None and out.strategy == "llmlingua"
    kept = out.text.split(" [… ")[0].split()
    assert kept == ["beta", "gamma_delta", "☃", "omega."]
    (om,) = out.omissions
    assert om.original == para and f"ref={om.ref}]" in out.text


def test_importing_the_backend_stays_light() -> None:
    code = ("import sys, headroom, headroom.compressors.text.prose, headroom.compressors.text.lingua; "
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not {m.split(".")[0] for m in out} & {"torch", "transformers", "llmlingua", "numpy", "huggingface_hub"}
