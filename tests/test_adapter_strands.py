"""HeadroomStrandsModel: a real Strands Agent on a real OpenAIModel, against the fake
OpenAI-compatible server in examples/fake_upstream.py (real HTTP, streamed replies)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("strands")
pytest.importorskip("openai")

from pydantic import BaseModel
from strands import Agent, tool
from strands.models.openai import OpenAIModel

from headroom.adapters import HeadroomStrandsModel
from headroom.ccr import MemoryStore, retrieve

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from fake_upstream import FakeUpstream  # noqa: E402

ERROR_LINE = "2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n" + ERROR_LINE
LISTING = json.dumps([{"name": f"src/module_{i:03d}.py", "size": 1000 + 37 * i, "owner": "ci" if i % 3 else "dev",
                       "modified": f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"} for i in range(400)], indent=2)
SOURCE = (ROOT / "headroom" / "budget.py").read_text()
ORIGINALS = (LOG, LISTING, SOURCE)
PLAN = [("list_files", {"path": "src"}), ("read_log", {"path": "app.log"}), ("read_source", {"path": "budget.py"})]
QUESTION = "Why was batch 2999 requeued?"


@tool
def list_files(path: str) -> str:
    """List the files under a directory, as JSON."""
    return LISTING


@tool
def read_log(path: str) -> str:
    """Read a log file."""
    return LOG


@tool
def read_source(path: str) -> str:
    """Read a source file."""
    return SOURCE


TOOLS: list[Any] = [list_files, read_log, read_source]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(plan=PLAN) as server:
        yield server


def wrapped(upstream: FakeUpstream, **config: Any) -> HeadroomStrandsModel:
    inner = OpenAIModel(client_args={"base_url": upstream.url + "/v1", "api_key": "k"}, model_id="gpt-4o")
    return HeadroomStrandsModel(inner, store=MemoryStore(), **config)


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or ()]


def retrieve_answers(upstream: FakeUpstream) -> list[tuple[str, str]]:
    """(ref asked for, tool message content) of every headroom_retrieve call sent upstream."""
    out = {}
    for rec in upstream.requests:
        msgs = rec.body["messages"]
        calls = {c["id"]: json.loads(c["function"]["arguments"])["ref"] for m in msgs for c in m.get("tool_calls") or ()
                 if c["function"]["name"] == "headroom_retrieve"}
        out.update({m["tool_call_id"]: (calls[m["tool_call_id"]], m["content"]) for m in msgs
                    if m["role"] == "tool" and m["tool_call_id"] in calls})
    return list(out.values())


def from_originals(content: str) -> bool:
    """``content`` is original tool output the compressed request left out: rows of the
    listing (stored minified) or lines of the log or the source."""
    if content.startswith("["):
        rows = json.loads(content)
        return bool(rows) and all(row in json.loads(LISTING) for row in rows)
    return any(set(content.splitlines()) <= set(original.splitlines()) for original in ORIGINALS)


def check_run(model: HeadroomStrandsModel, agent: Agent, upstream: FakeUpstream, answer: str) -> None:
    assert ERROR_LINE in answer and "(after headroom_retrieve)" in answer
    bodies = [r.body for r in upstream.requests]
    assert len(bodies) == len(PLAN) + 2  # one per app tool, the retrieve round, the answer
    # every request is valid: each tool call has its tool message, and no dangling results
    for body in bodies:
        ids = [c["id"] for m in body["messages"] for c in m.get("tool_calls") or ()]
        results = [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
        assert sorted(ids) == sorted(results)
    # compressed: markers with refs on the wire, and far fewer tokens than the agent holds
    wire = json.dumps(bodies[-2], ensure_ascii=False)
    assert "[…" in wire and "headroom_retrieve ref=" in wire
    assert LOG not in wire and LISTING not in wire
    assert len(wire) < len(json.dumps(agent.messages)) / 3
    stats = model.get_metrics()
    assert stats["requests"] == len(bodies) - 1 and stats["tokens_before"] > 3 * stats["tokens_after"] > 0
    assert stats["retrievals"] == 1 and model.stats.retrievals == 1 and stats["errors"] == 0
    # the tool, once offered, stays offered (and only the agent's tools besides it)
    offered = [("headroom_retrieve" in tool_names(b)) for b in bodies]
    assert offered[0] is False and True in offered
    assert all(offered[offered.index(True):])
    assert {n for b in bodies for n in tool_names(b)} == {"list_files", "read_log", "read_source",
                                                          "headroom_retrieve"}
    # the wrapper answered the scripted call with the original content
    [(ref, content)] = retrieve_answers(upstream)
    assert content == retrieve(ref, store=model.loop.store) and from_originals(content)
    # the agent saw its own tools' calls and the final answer, never headroom_retrieve
    uses = [b["toolUse"]["name"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    assert uses == [name for name, _ in PLAN]
    use_ids = [b["toolUse"]["toolUseId"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    assert use_ids == [b["toolResult"]["toolUseId"] for m in agent.messages for b in m["content"] if "toolResult" in b]
    assert agent.messages[2]["content"][0]["toolResult"]["content"][0]["text"] == LISTING  # not compressed in place
    assert agent.messages[-1]["role"] == "assistant" and answer.strip() in json.dumps(agent.messages[-1])


def test_agent_call_compresses_and_answers_retrieval(upstream: FakeUpstream) -> None:
    model = wrapped(upstream)
    agent = Agent(model=model, tools=TOOLS, callback_handler=None)
    result = agent(QUESTION)
    check_run(model, agent, upstream, str(result))
    # usage of the hidden retrieve round is counted too: the agent's total covers every request
    usage = result.metrics.accumulated_usage
    prompt_tokens = sum(max(1, len(json.dumps(r.body)) // 4) for r in upstream.requests)
    assert usage["inputTokens"] == prompt_tokens and usage["outputTokens"] == 12 * len(upstream.requests)


def test_agent_invoke_async(upstream: FakeUpstream) -> None:
    model = wrapped(upstream)
    agent = Agent(model=model, tools=TOOLS, callback_handler=None)
    result = asyncio.run(agent.invoke_async(QUESTION))
    check_run(model, agent, upstream, str(result))


def test_agent_stream_async(upstream: FakeUpstream) -> None:
    model = wrapped(upstream)
    agent = Agent(model=model, tools=TOOLS, callback_handler=None)

    async def collect() -> list[dict[str, Any]]:
        return [event async for event in agent.stream_async(QUESTION)]

    events = asyncio.run(collect())
    text = "".join(e["data"] for e in events if isinstance(e.get("data"), str))
    check_run(model, agent, upstream, text)
    seen_tools = {e["current_tool_use"].get("name") for e in events if e.get("current_tool_use")}
    assert seen_tools == {name for name, _ in PLAN}
    chunks = [e["event"] for e in events if "event" in e]
    model_calls = len(PLAN) + 1  # the agent's event loop cycles; the retrieve round is hidden
    assert sum("messageStart" in c for c in chunks) == model_calls
    assert sum("messageStop" in c for c in chunks) == model_calls
    assert sum("metadata" in c for c in chunks) == model_calls
    starts = [c["contentBlockStart"]["start"]["toolUse"]["name"] for c in chunks
              if "toolUse" in c.get("contentBlockStart", {}).get("start", {})]
    assert starts == [name for name, _ in PLAN]


HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": [{"text": QUESTION}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "read_log", "input": {}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "status": "success", "content": [{"text": LOG}]}}]},
]
LOG_SPEC: Any = {"name": "read_log", "description": "Read a log file.",
            "inputSchema": {"json": {"type": "object", "properties": {"path": {"type": "string"}}}}}


def stream_events(model: HeadroomStrandsModel, system_prompt: str = "Be brief.", **kwargs: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [dict(e) async for e in model.stream(json.loads(json.dumps(HISTORY)), [LOG_SPEC], system_prompt,
                                                    **kwargs)]
    return asyncio.run(collect())


def test_stream_is_one_well_formed_message() -> None:
    with FakeUpstream() as upstream:
        model = wrapped(upstream)
        events = stream_events(model)
        assert len(upstream.requests) == 2  # the retrieve round, then the answer
        assert "messageStart" in events[0] and [k for e in events for k in e].count("messageStart") == 1
        stops = [e["messageStop"] for e in events if "messageStop" in e]
        assert stops == [{"stopReason": "end_turn"}]
        assert not any("toolUse" in json.dumps(e) for e in events)
        [meta] = [e["metadata"] for e in events if "metadata" in e]
        assert meta["usage"]["inputTokens"] == sum(len(json.dumps(r.body)) // 4 for r in upstream.requests)
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
        assert text == f"Found: {ERROR_LINE} (after headroom_retrieve)"
        # the system prompt and the agent's tool went out with every round
        for rec in upstream.requests:
            assert rec.body["messages"][0] == {"role": "system", "content": "Be brief."}
            assert tool_names(rec.body) == ["read_log", "headroom_retrieve"]


def test_max_rounds_zero_strips_the_retrieve_call() -> None:
    with FakeUpstream() as upstream:
        model = wrapped(upstream, max_rounds=0)
        events = stream_events(model)
        assert len(upstream.requests) == 1 and model.stats.retrievals == 0
        assert not any("toolUse" in json.dumps(e) for e in events)
        assert [e["messageStop"] for e in events if "messageStop" in e] == [{"stopReason": "end_turn"}]


def test_forced_other_tool_gets_lossless_compression_only() -> None:
    with FakeUpstream() as upstream:
        model = wrapped(upstream)
        events = stream_events(model, tool_choice={"tool": {"name": "read_log"}})
        body = json.dumps(upstream.requests[0].body)
        assert "headroom_retrieve" not in body and ERROR_LINE in body
        assert model.stats.lossless_fallbacks == 1 and model.stats.retrievals == 0
        assert any("messageStop" in e for e in events)


def test_stream_passes_every_keyword_through() -> None:
    seen: dict[str, Any] = {}

    class Recording(OpenAIModel):
        async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None,
                         **kwargs: Any) -> Any:
            seen.update(kwargs, tool_specs=tool_specs, system_prompt=system_prompt)
            async for event in super().stream(messages, tool_specs, system_prompt, **kwargs):
                yield event

    with FakeUpstream() as upstream:
        inner = Recording(client_args={"base_url": upstream.url + "/v1", "api_key": "k"}, model_id="gpt-4o")
        model = HeadroomStrandsModel(inner, store=MemoryStore(), max_rounds=0)
        state = {"who": "test"}
        stream_events(model, invocation_state=state, system_prompt_content=[{"text": "Be brief."}],
                      model_state={"k": 1}, dynamic_trailing_blocks=1)
    assert seen["invocation_state"] is state and seen["model_state"] == {"k": 1}
    assert seen["system_prompt_content"] == [{"text": "Be brief."}] and seen["system_prompt"] == "Be brief."
    assert seen["dynamic_trailing_blocks"] == 1 and "tool_choice" in seen and "cancel_signal" in seen
    assert [s["name"] for s in seen["tool_specs"]] == ["read_log", "headroom_retrieve"]
    assert seen["tool_specs"][1]["inputSchema"]["json"]["required"] == ["ref"]


def test_cache_alignment_sees_the_system_prompt_and_tools() -> None:
    volatile = "Now: 2024-06-01 10:22:13. Be brief."
    for mode in ("report", "on"):
        with FakeUpstream() as upstream:
            model = wrapped(upstream, cache_align=mode)
            stream_events(model, system_prompt=volatile, system_prompt_content=[{"text": volatile}])
            assert model.stats.cache_findings >= 1
            system = upstream.requests[0].body["messages"][0]["content"]
            if mode == "report":
                assert system == volatile
            else:  # fixed: the timestamp leaves the cached prefix for a note at the end
                assert system == "Now: ⟨v1⟩. Be brief." and "2024-06-01 10:22:13" in json.dumps(
                    upstream.requests[0].body["messages"][-1], ensure_ascii=False)


class Verdict(BaseModel):
    finding: str


def test_structured_output_delegates_with_the_prompt_compressed() -> None:
    with FakeUpstream() as upstream:
        model = wrapped(upstream)
        history: Any = [
            {"role": "user", "content": [{"text": "Which files changed?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "list_files", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "status": "success",
                                                         "content": [{"text": LISTING}]}},
                                         {"text": "Sum it up."}]}]
        agent = Agent(model=model, messages=history, system_prompt="Be brief.", callback_handler=None)
        with pytest.warns(DeprecationWarning):  # Agent.structured_output is the path to Model.structured_output
            verdict = agent.structured_output(Verdict)
        assert verdict.finding == "No errors found."
        [rec] = upstream.requests
        assert rec.body["response_format"]["type"] == "json_schema" and not rec.body.get("tools")
        assert rec.body["messages"][0] == {"role": "system", "content": "Be brief."}
        wire = json.dumps(rec.body, ensure_ascii=False)
        assert len(wire) < len(LISTING) / 2 and "headroom_retrieve" not in wire  # compressed, losslessly
        assert all(f"module_{i:03d}.py" in wire for i in range(400))
        assert model.stats.lossless_fallbacks == 1 and model.stats.calls[-1].hook == "structured_output"
        assert agent.messages[2]["content"][0]["toolResult"]["content"][0]["text"] == LISTING  # not mutated


def test_config_round_trip() -> None:
    inner = OpenAIModel(client_args={"api_key": "k"}, model_id="gpt-4o", params={"max_tokens": 50})
    model = HeadroomStrandsModel(inner, min_unit_tokens=100, max_rounds=2)
    config = model.get_config()
    assert config["model_id"] == "gpt-4o" and config["params"] == {"max_tokens": 50}
    assert config["headroom"]["min_unit_tokens"] == 100 and config["headroom"]["max_rounds"] == 2
    model.update_config(model_id="gpt-4o-mini", headroom={"min_unit_tokens": 500, "max_rounds": 1})
    assert inner.get_config()["model_id"] == "gpt-4o-mini" and model.config["model_id"] == "gpt-4o-mini"
    assert model.loop.config.min_unit_tokens == 500 and model.loop.max_rounds == 1
    model.update_config(**model.get_config())  # what get_config gives, update_config takes
    assert model.get_config() == {**inner.get_config(), "headroom": model.get_config()["headroom"]}
    with pytest.raises(TypeError, match="unknown headroom settings"):
        model.update_config(headroom={"no_such_option": 1})
    with pytest.raises(TypeError, match="unknown option"):
        HeadroomStrandsModel(inner, no_such_option=1)
    assert model.stateful is False and model.context_window_limit == inner.context_window_limit


def test_import_is_lazy_and_framework_local() -> None:
    code = ("import sys, headroom.adapters.strands as s; from headroom.adapters import HeadroomStrandsModel; "
            "assert HeadroomStrandsModel is s.HeadroomStrandsModel; "
            "print(sorted(m for m in ('langchain_core', 'agno', 'litellm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    code = "import sys, headroom.adapters; print('strands' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_example_script() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "strands_agent.py")], capture_output=True,
                         text=True, timeout=240, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr

    def number(label: str) -> int:
        line = next(x for x in out.stdout.splitlines() if x.startswith(label))
        return int(line.split()[-1].replace(",", ""))

    assert number("tokens before") > number("tokens after") > 0
    assert number("retrievals") == 1
    assert "final answer: Found: " in out.stdout and "ERROR" in out.stdout
