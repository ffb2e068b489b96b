"""HeadroomAgnoModel inside a real Agno Agent, on a real OpenAIChat talking HTTP to the fake
provider (examples/fake_upstream.py): what went over the wire is compressed and valid, the
model's headroom_retrieve call is answered by the wrapper, and the agent only ever sees
its own tools and the final answer -- for run, arun, and both streaming runs."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agno")
pytest.importorskip("openai")

from agno.agent import Agent
from agno.metrics import MessageMetrics
from agno.models.base import Model
from agno.models.message import Message
from agno.models.openai import OpenAIChat
from agno.models.response import ModelResponse
from agno.run.agent import RunContentEvent, RunOutput, ToolCallStartedEvent

from headroom.adapters import HeadroomAgnoModel
from headroom.ccr import MemoryStore
from headroom.ccr.retrieve import retrieve
from headroom.counter import Counter
from headroom.hooks import CompressEvent, Hooks

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "examples"))
from fake_upstream import FakeUpstream  # noqa: E402

ERROR_LINE = "2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n" + ERROR_LINE
PACKAGES = (FIXTURES / "json" / "pip_distributions.json").read_text()
SOURCE = gzip.decompress((FIXTURES / "code_quotes" / "redis_client.py.gz").read_bytes()).decode()
OUTPUTS = {"list_packages": PACKAGES, "read_log": LOG, "read_source": SOURCE}
PLAN = [("list_packages", {}), ("read_log", {"path": "/var/log/dispatcher.log"}),
        ("read_source", {"path": "redis/client.py"})]
QUESTION = "Why did batch 2999 get requeued?"
MODES = ["run", "arun", "stream", "astream"]


class Recorder(Hooks):
    def __init__(self) -> None:
        self.events: list[CompressEvent] = []

    def post_compress(self, event: CompressEvent) -> None:
        self.events.append(event)


@dataclass
class Setup:
    upstream: FakeUpstream
    model: HeadroomAgnoModel
    agent: Agent
    store: MemoryStore
    hooks: Recorder
    ran: list[str] = field(default_factory=list)


@pytest.fixture
def setup() -> Iterator[Setup]:
    ran: list[str] = []

    def list_packages() -> str:
        """List the installed Python distributions as JSON."""
        ran.append("list_packages")
        return PACKAGES

    def read_log(path: str) -> str:
        """Read a log file."""
        ran.append("read_log")
        return LOG

    def read_source(path: str) -> str:
        """Read a source file."""
        ran.append("read_source")
        return SOURCE

    store, hooks = MemoryStore(), Recorder()
    with FakeUpstream(plan=PLAN) as upstream:
        model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o", base_url=upstream.url + "/v1", api_key="k"),
                                  store=store, hooks=hooks)
        agent = Agent(model=model, tools=[list_packages, read_log, read_source], add_datetime_to_context=True,
                      telemetry=False, instructions="You are the on-call assistant. Quote log lines exactly.")
        yield Setup(upstream, model, agent, store, hooks, ran)


def drive(agent: Agent, mode: str) -> tuple[str, list[str], RunOutput]:
    """(final answer, names of the tools the agent started, the run's output) for one run."""
    if mode in ("run", "arun"):
        out = agent.run(QUESTION) if mode == "run" else asyncio.run(agent.arun(QUESTION))
        return str(out.content), [t.tool_name or "" for t in out.tools or ()], out

    options: dict[str, Any] = {"stream": True, "stream_events": True, "yield_run_output": True}

    async def collect() -> list[Any]:
        return [e async for e in agent.arun(QUESTION, **options)]

    events = list(agent.run(QUESTION, **options)) if mode == "stream" else asyncio.run(collect())
    text = "".join(str(e.content) for e in events if isinstance(e, RunContentEvent) and e.content)
    assert isinstance(events[-1], RunOutput)
    return text, [e.tool.tool_name or "" for e in events if isinstance(e, ToolCallStartedEvent) and e.tool], events[-1]


def bodies(s: Setup) -> list[dict[str, Any]]:
    return [r.body for r in s.upstream.requests]


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or ()]


def assert_paired(messages: list[dict[str, Any]]) -> None:
    """Every tool call answered right after its assistant turn, every answer to a call."""
    pending: set[str] = set()
    for msg in messages:
        if msg["role"] == "tool":
            assert msg["tool_call_id"] in pending, msg["tool_call_id"]
            pending.discard(msg["tool_call_id"])
            continue
        assert not pending, f"unanswered calls {pending}"
        pending = {c["id"] for c in msg.get("tool_calls") or ()}
    assert not pending


@pytest.mark.parametrize("mode", MODES)
def test_agent_runs_compressed_and_retrieves(setup: Setup, mode: str) -> None:
    answer, started, _ = drive(setup.agent, mode)
    assert ERROR_LINE in answer and "(after headroom_retrieve)" in answer
    # the agent ran its own tools only, once each; headroom_retrieve never reached it
    assert setup.ran == [name for name, _ in PLAN] and started == setup.ran

    sent = bodies(setup)
    assert len(sent) == len(PLAN) + 2  # one request per app tool round, the retrieve round, the answer
    counter = Counter("gpt-4o")
    for body in sent:
        assert_paired(body["messages"])
        for msg in body["messages"]:
            if msg["role"] == "tool" and msg["tool_call_id"] in _app_call_ids(body):
                name = _call_name(body, msg["tool_call_id"])
                assert counter.count(msg["content"]) < counter.count(OUTPUTS[name])
    wire = json.dumps(sent[-1]["messages"], ensure_ascii=False)
    assert "[…" in wire and "headroom_retrieve ref=" in wire

    # offered from the first request that held a ref on, and on every request after it
    first = next(i for i, body in enumerate(sent) if "headroom_retrieve ref=" in json.dumps(body["messages"]))
    assert all("headroom_retrieve" not in tool_names(b) for b in sent[:first])
    assert all("headroom_retrieve" in tool_names(b) for b in sent[first:])
    assert {"list_packages", "read_log", "read_source"} <= set(tool_names(sent[-1]))

    # the scripted retrieve call, answered in the next request with the stored original
    last = sent[-1]["messages"]
    call = last[-2]["tool_calls"][0]
    assert call["function"]["name"] == "headroom_retrieve" and last[-1]["tool_call_id"] == call["id"]
    ref = json.loads(call["function"]["arguments"])["ref"]
    original = retrieve(ref, store=setup.store)
    assert last[-1]["content"] == original and len(original) > 1000
    # the model asked for the first marker's ref: rows the packages listing had cut
    listing = next(m["content"] for m in last if m["role"] == "tool" and _call_name(sent[-1], m["tool_call_id"])
                   == "list_packages")
    assert f"ref={ref}" in listing
    rows = json.loads(original)
    assert len(rows) > 50 and all(row in json.loads(PACKAGES) for row in rows)
    assert not any(c["function"]["name"] == "headroom_retrieve"
                   for msg in sent[-2]["messages"] for c in msg.get("tool_calls") or ())

    stats = setup.model.get_metrics()
    assert stats["retrievals"] == 1 and stats["errors"] == 0
    assert stats["requests"] == len(sent) - 1  # one compression per agent model call
    assert stats["tokens_saved"] > sum(counter.count(t) for t in OUTPUTS.values()) // 2
    assert setup.model.stats.tokens_after < setup.model.stats.tokens_before


def _app_call_ids(body: dict[str, Any]) -> set[str]:
    return {c["id"] for m in body["messages"] for c in m.get("tool_calls") or ()
            if c["function"]["name"] != "headroom_retrieve"}


def _call_name(body: dict[str, Any], call_id: str) -> str:
    return next(str(c["function"]["name"]) for m in body["messages"] for c in m.get("tool_calls") or ()
                if c["id"] == call_id)


@pytest.mark.parametrize("mode", MODES)
def test_history_keeps_the_originals(setup: Setup, mode: str) -> None:
    """Compression works on copies: the agent's messages (its run output, its session)
    hold the tool outputs as the tools returned them, and no retrieve round."""
    *_, out = drive(setup.agent, mode)
    assert out.messages
    tool_contents = {m.tool_name: m.content for m in out.messages if m.role == "tool"}
    assert tool_contents == OUTPUTS
    assert all(not m.tool_calls or all(c["function"]["name"] != "headroom_retrieve" for c in m.tool_calls)
               for m in out.messages)
    # metrics count every billed request, the retrieve round included
    assert out.metrics is not None and out.metrics.input_tokens == sum(
        max(1, len(json.dumps(b)) // 4) for b in bodies(setup))


def test_cache_alignment_sees_system_and_tools(setup: Setup) -> None:
    """The system message (Agno puts the current datetime in it) and the tool definitions
    reach the engine, so cache alignment reports on them."""
    setup.agent.run(QUESTION)
    event = setup.hooks.events[0]
    system = event.result.messages[0]
    assert system["role"] == "system" and "on-call assistant" in system["content"]
    assert event.result.request_tools is not None
    assert {t["function"]["name"] for t in event.result.request_tools} == {n for n, _ in PLAN}
    assert event.result.cache is not None
    assert any(f.location.startswith("system") or "messages[0]" in f.location for f in event.result.cache.findings)
    assert setup.model.get_metrics()["cache_findings"] > 0


def test_positional_construction_mirrors_the_wrapped_model() -> None:
    inner = OpenAIChat(id="gpt-4o", base_url="http://127.0.0.1:9/v1", api_key="k", retries=2)
    model = HeadroomAgnoModel(inner, min_unit_tokens=200, max_rounds=1)
    assert isinstance(model, Model) and model.model is inner
    assert (model.id, model.name, model.provider, model.retries) == ("gpt-4o", "OpenAIChat", "OpenAI", 2)
    assert model.get_provider() == inner.get_provider() and model.to_dict() == inner.to_dict()
    assert model.loop.config.min_unit_tokens == 200 and model.loop.max_rounds == 1
    assert model.get_metrics()["requests"] == 0
    with pytest.raises(TypeError):
        HeadroomAgnoModel("gpt-4o")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HeadroomAgnoModel(inner, no_such_option=1)


def test_import_is_lazy_and_framework_local() -> None:
    code = ("import sys, headroom.adapters as a; assert 'agno' not in sys.modules;"
            "import headroom.adapters.agno; from headroom.adapters import HeadroomAgnoModel;"
            "bad = [m for m in ('langchain_core', 'strands') if m in sys.modules]; assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_example_script() -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "agno_agent.py")], capture_output=True,
                          text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def number(label: str) -> int:
        match = re.search(rf"{label}\s+([\d,]+)", proc.stdout)
        assert match, proc.stdout
        return int(match.group(1).replace(",", ""))

    assert number("tokens before") > number("tokens after") > 0 and number("retrievals") >= 1
    assert "final answer: Found: " in proc.stdout and "ERROR" in proc.stdout


@pytest.mark.parametrize("mode", MODES)
def test_rounds_used_up_never_reach_the_agent(setup: Setup, mode: str) -> None:
    """max_rounds=0: the model's retrieve call is stripped, not handed to the agent."""
    setup.model.loop.max_rounds = 0
    _, started, out = drive(setup.agent, mode)
    assert started == [name for name, _ in PLAN] and setup.ran == started
    assert "headroom_retrieve" not in json.dumps([m.tool_calls for m in out.messages or ()])
    assert setup.model.stats.retrievals == 0 and len(bodies(setup)) == len(PLAN) + 1


def test_stream_release_drops_retrieve_deltas_and_renumbers() -> None:
    """Held OpenAI deltas for [headroom_retrieve, read_log]: released without the retrieve
    call, read_log moved to index 0, so Agno's assembler builds exactly one call."""
    from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction

    from headroom.adapters.agno import _StreamTurn
    from headroom.adapters.loop import ToolCall

    def delta(index: int, args: str, call_id: str | None = None, name: str | None = None) -> ModelResponse:
        fn = ChoiceDeltaToolCallFunction(name=name, arguments=args)
        return ModelResponse(tool_calls=[ChoiceDeltaToolCall(index=index, id=call_id, type="function" if call_id
                                                             else None, function=fn)])  # type: ignore[list-item]

    model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o", api_key="k"))
    held = [delta(0, "", "call_1", "headroom_retrieve"), delta(0, '{"ref": "abc"}'),
            delta(1, "", "call_2", "read_log"), delta(1, '{"path": "a.log"}'),
            ModelResponse(response_usage=MessageMetrics(input_tokens=5))]
    turn = _StreamTurn(model, [], {}, Message(role="assistant"))
    calls = turn.calls(held)
    assert [(c.id, c.name) for c in calls] == [("call_1", "headroom_retrieve"), ("call_2", "read_log")]
    released = list(turn.release(held, [ToolCall("call_1", "headroom_retrieve", '{"ref": "abc"}')]))
    assert len(released) == len(held) and released[-1] is held[-1]
    rebuilt = model.parse_tool_calls([d for c in released for d in c.tool_calls])
    assert rebuilt == [{"id": "call_2", "type": "function",
                        "function": {"name": "read_log", "arguments": '{"path": "a.log"}'}}]
    assert getattr(held[2].tool_calls[0], "index", None) == 1  # the held chunks are left as they were


def test_deepcopy_shares_the_loop() -> None:
    model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o", api_key="k"))
    twin = copy.deepcopy(model)
    assert twin.model is not model.model and twin.model.id == "gpt-4o"
    assert twin.loop is model.loop and twin.stats is model.stats
