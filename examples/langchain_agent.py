"""A LangChain tool-calling agent whose model is wrapped in ``HeadroomChatModel``.

The agent's tools return a large JSON listing and a long log; Headroom compresses them
before each model call, offers ``headroom_retrieve`` next to the agent's own tools and
answers the model's retrieve call itself, so the loop below only ever handles its own
tools. Runs against the fake provider in ``fake_upstream.py``: no keys, no network.

    python examples/langchain_agent.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from headroom.adapters import HeadroomChatModel
from headroom.ccr import MemoryStore

WORKERS = [{"id": f"worker-{i}", "host": f"10.0.{i // 250}.{i % 250}", "state": "ok" if i != 37 else "lost",
            "jobs": i * 7 % 41, "zone": ["eu-west-1a", "eu-west-1b", "us-east-1a"][i % 3]} for i in range(400)]
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 50}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-37 lost heartbeat; batch 2999 requeued"


@tool
def list_workers() -> str:
    """List the cluster's workers as JSON."""
    return json.dumps(WORKERS, indent=2)


@tool
def read_log(path: str) -> str:
    """Read a log file."""
    return LOG


TOOLS = {t.name: t for t in (list_workers, read_log)}
PLAN = [("list_workers", {}), ("read_log", {"path": "/var/log/dispatcher.log"})]


def run_agent(model: HeadroomChatModel, question: str) -> AIMessage:
    """The usual loop: call the model, run the tools it asks for, until it answers."""
    agent = model.bind_tools(list(TOOLS.values()))
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(10):
        reply = agent.invoke(messages)
        assert isinstance(reply, AIMessage)
        messages.append(reply)
        if not reply.tool_calls:
            return reply
        messages += [TOOLS[call["name"]].invoke(call) for call in reply.tool_calls]
    raise RuntimeError("the agent kept calling tools")


def main() -> None:
    with FakeUpstream(plan=PLAN) as upstream:
        llm = ChatOpenAI(model="gpt-4o", base_url=upstream.url + "/v1", api_key=SecretStr("not-needed"))
        model = HeadroomChatModel(llm, store=MemoryStore())  # the default store is a shared SQLite file
        answer = run_agent(model, "Which worker lost its heartbeat?")
        stats = model.stats
        print(f"model calls {stats.requests}, upstream requests {len(upstream.requests)}")
        print(f"tokens before {stats.tokens_before:,}")
        print(f"tokens after {stats.tokens_after:,}")
        print(f"retrievals {stats.retrievals}")
        print(f"final answer: {answer.content}")


if __name__ == "__main__":
    main()
