"""Memory in the adapters: the loop answers memory tools like ``headroom_retrieve``, recall
goes into user turns without changing what an earlier request sent, and a real LangChain
agent and the real proxy process save into a real SQLite memory through the fake provider."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from test_adapter_loop import DictTurn, call

from headroom.adapters.loop import RetrievalLoop, run
from headroom.memory import Memory
from headroom.memory.conversation import MemoryTools

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_upstream import FakeUpstream


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_loop_answers_memory_calls_and_the_app_never_sees_them(tmp_path: Path) -> None:
    memory = Memory(tmp_path / "m.sqlite3")
    loop = RetrievalLoop(memory=MemoryTools(memory, scope_ids={"project": "/repo"}))
    prepared = loop.prepare([_user("Remember: deploys go through staging.")], "openai", "gpt-4o",
                            can_call_tools=True)
    assert {t["function"]["name"] for t in prepared.added_tools} == {"memory_save", "memory_search", "memory_forget"}
    save = call("memory_save", {"text": "Deploys go through staging first", "scope": "project"}, 1)
    app = call("bash", {"cmd": "ls"}, 2)
    turn = DictTurn(list(prepared.messages), [
        {"role": "assistant", "content": None, "tool_calls": [save]},
        {"role": "assistant", "content": None, "tool_calls": [app]},
    ])
    reply = run(loop, turn)
    assert [c["function"]["name"] for c in reply["tool_calls"]] == ["bash"]  # the app gets only its own call
    [answer] = [m for m in turn.messages if m.get("role") == "tool"]
    assert answer["tool_call_id"] == "r1" and "Saved memory" in answer["content"]
    [entry] = memory.search("staging", scope="project")
    assert entry.text == "Deploys go through staging first" and entry.scope_id == "/repo"
    assert loop.stats.retrievals == 0  # memory calls are not retrievals


def test_without_memory_a_memory_named_app_tool_is_the_apps() -> None:
    loop = RetrievalLoop()
    save = call("memory_save", {"text": "x"}, 1)
    turn = DictTurn([_user("hi")], [{"role": "assistant", "content": None, "tool_calls": [save]}])
    assert run(loop, turn)["tool_calls"] == [save]
    assert not loop.prepare([_user("hi")], "openai", None, can_call_tools=True).added_tools


def test_no_tools_offered_to_a_model_that_cannot_call_them(tmp_path: Path) -> None:
    loop = RetrievalLoop(memory=MemoryTools(Memory(tmp_path / "m.sqlite3")))
    assert not loop.prepare([_user("hi")], "openai", None, can_call_tools=False).added_tools


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_recall_keeps_earlier_requests_byte_identical(tmp_path: Path, fmt: str) -> None:
    """Recall goes into the newest user turn; on the next request that turn carries the
    same memories, byte for byte, even after memory has changed."""
    memory = Memory(tmp_path / "m.sqlite3")
    memory.add("The staging cluster is called kestrel", scope="project")
    memory.add("Tests run with make test", scope="project")
    loop = RetrievalLoop(memory=MemoryTools(memory, recall=2))
    first = [_user("Where do we deploy to staging?")]
    one = loop.prepare(first, fmt, None, can_call_tools=True).messages
    assert "kestrel" in json.dumps(one) and "kestrel" not in json.dumps(first)
    memory.add("Staging was renamed to osprey", scope="project")  # memory changes between turns
    assistant: dict[str, Any] = ({"role": "assistant", "content": "kestrel."} if fmt == "openai"
                                 else {"role": "assistant", "content": [{"type": "text", "text": "kestrel."}]})
    second = [*first, assistant, _user("And how are staging tests run?")]
    two = loop.prepare(second, fmt, None, can_call_tools=True).messages
    assert json.dumps(two[:2]) == json.dumps([*one, assistant])  # the cached prefix is what was sent before
    assert "osprey" in json.dumps(two[2]) or "make test" in json.dumps(two[2])
    assert all("Notes remembered" not in json.dumps(m) for m in second)  # the app's history is untouched


def test_options_need_memory() -> None:
    with pytest.raises(TypeError, match="need memory="):
        RetrievalLoop.from_options("W", {"recall": 3})
    with pytest.raises(ValueError, match="recall must be"):
        MemoryTools(object(), recall=-1)  # type: ignore[arg-type]


def test_langchain_agent_saves_a_memory(tmp_path: Path) -> None:
    pytest.importorskip("langchain_openai")
    from langchain_core.messages import HumanMessage
    from langchain_openai import ChatOpenAI

    from headroom.adapters import HeadroomChatModel

    memory = Memory(tmp_path / "m.sqlite3")
    with FakeUpstream(plan=[("memory_save", {"text": "The user prefers tabs", "tags": ["style"]})]) as up:
        llm = ChatOpenAI(model="gpt-4o", base_url=up.url + "/v1", api_key="sk-test", max_retries=0)
        model = HeadroomChatModel(llm, memory=memory)
        reply = model.invoke([HumanMessage("I like tabs. Remember that.")])
        assert not reply.tool_calls and isinstance(reply.content, str)  # the save round was answered inside
        first, second = up.requests
        assert "memory_save" in {t["function"]["name"] for t in first.body["tools"]}
        last = second.body["messages"][-1]
        assert last["role"] == "tool" and "Saved memory" in last["content"]
    [entry] = memory.search("tabs")
    assert entry.text == "The user prefers tabs" and entry.tags == ("style",)


def test_proxy_answers_memory_tools(tmp_path: Path) -> None:
    pytest.importorskip("anthropic")
    import anthropic
    from proxy_harness import run_proxy

    path = tmp_path / "proxy-memory.sqlite3"
    with FakeUpstream(plan=[("memory_save", {"text": "Release notes live in CHANGES.md"})]) as up, \
            run_proxy(up.url, "--memory", str(path)) as proxy:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-test", max_retries=0)
        reply = client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                       messages=[{"role": "user", "content": "Where are release notes?"}],
                                       tools=[{"name": "bash", "input_schema": {"type": "object"}}])
        assert reply.stop_reason == "end_turn" and not any(b.type == "tool_use" for b in reply.content)
        first, second = up.requests
        assert [t["name"] for t in first.body["tools"]][:1] == ["bash"]
        assert {"memory_save", "memory_search", "memory_forget"} <= {t["name"] for t in first.body["tools"]}
        result = second.body["messages"][-1]["content"][0]
        assert result["type"] == "tool_result" and "Saved memory" in str(result["content"])
    [entry] = Memory(path).search("release notes")
    assert entry.text == "Release notes live in CHANGES.md"


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "responses", "bedrock"])
def test_answer_retrieval_calls_answers_memory_calls(tmp_path: Path, fmt: str) -> None:
    """For a LiteLLM-callback user, who answers tool calls in their own loop."""
    from headroom.ccr import answer_retrieval_calls

    memory = Memory(tmp_path / "m.sqlite3")
    args = {"text": "CI runs on two cores"}
    reply: Any = {
        "openai": {"role": "assistant", "tool_calls": [
            {"id": "m1", "type": "function", "function": {"name": "memory_save", "arguments": json.dumps(args)}}]},
        "anthropic": {"role": "assistant", "content": [{"type": "tool_use", "id": "m1", "name": "memory_save",
                                                        "input": args}]},
        "responses": {"output": [{"type": "function_call", "call_id": "m1", "name": "memory_save",
                                  "arguments": json.dumps(args)}]},
        "bedrock": {"output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "m1", "name": "memory_save", "input": args}}]}}},
    }[fmt]
    assert answer_retrieval_calls(reply, fmt=fmt) == []  # without memory=, not ours
    answered = answer_retrieval_calls(reply, fmt=fmt, memory=memory)
    assert "m1" in json.dumps(answered) and "Saved memory" in json.dumps(answered)
    assert [e.text for e in memory.search("CI cores")] == ["CI runs on two cores"]


def test_agno_and_strands_agents_save_memories(tmp_path: Path) -> None:
    """The same save round inside a real Agno Agent and a real Strands Agent."""
    pytest.importorskip("agno")
    pytest.importorskip("strands")
    from agno.agent import Agent as AgnoAgent
    from agno.models.openai import OpenAIChat
    from strands import Agent as StrandsAgent
    from strands.models.openai import OpenAIModel

    from headroom.adapters import HeadroomAgnoModel, HeadroomStrandsModel

    def bash(cmd: str) -> str:
        """Run a shell command."""
        return "ok"

    memory = Memory(tmp_path / "m.sqlite3")
    with FakeUpstream(plan=[("memory_save", {"text": "Agno: the build cache is in /var/cache/b"})]) as up:
        model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o", base_url=up.url + "/v1", api_key="k"), memory=memory)
        run = AgnoAgent(model=model, tools=[bash]).run("Where is the build cache? Remember it.")
        assert "memory_save" not in str(run.content) and len(up.requests) == 2
    with FakeUpstream(plan=[("memory_save", {"text": "Strands: the flaky test is test_upload"})]) as up:
        inner = OpenAIModel(client_args={"base_url": up.url + "/v1", "api_key": "k"}, model_id="gpt-4o")
        StrandsAgent(model=HeadroomStrandsModel(inner, memory=memory), tools=[], callback_handler=None)(
            "Which test is flaky? Remember it.")
        assert len(up.requests) == 2
        assert {t["function"]["name"] for t in up.requests[0].body["tools"]} >= {"memory_save", "memory_search"}
    assert {e.text for e in memory.list()} == {"Agno: the build cache is in /var/cache/b",
                                               "Strands: the flaky test is test_upload"}


def test_litellm_callback_recalls_into_the_newest_user_turn(tmp_path: Path) -> None:
    """Through real ``litellm.completion`` calls to the fake provider: the first request's
    user turn carries the recalled memory, and the second request sends that turn again
    byte for byte although memory changed in between."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm = pytest.importorskip("litellm")
    from headroom.callbacks import HeadroomCallback

    memory = Memory(tmp_path / "m.sqlite3")
    memory.add("The staging cluster is called kestrel", scope="project")
    callback = HeadroomCallback(memory=memory, recall=2)
    saved = list(litellm.callbacks)
    litellm.callbacks = [callback]
    try:
        with FakeUpstream() as up:
            def ask(messages: list[dict[str, Any]]) -> dict[str, Any]:
                litellm.completion(model="openai/gpt-4o", messages=messages, api_base=up.url + "/v1",
                                   api_key="sk-fake")
                body: dict[str, Any] = up.requests[-1].body
                return body
            first = [_user("Which staging cluster do we deploy to?")]
            one = ask(first)
            assert "kestrel" in json.dumps(one["messages"][-1])
            memory.add("Staging moved to the osprey cluster", scope="project")
            two = ask([*first, {"role": "assistant", "content": "kestrel"}, _user("Is staging up?")])
            assert two["messages"][0] == one["messages"][-1]  # the earlier turn, as it was sent
            assert "osprey" in json.dumps(two["messages"][-1])
    finally:
        litellm.logging_callback_manager._reset_all_callbacks()
        litellm.callbacks = saved
