"""HeadroomAgnoModel in an Agno Agent, end to end against a fake provider on 127.0.0.1.

Wrap the agent's model and nothing else changes: its tools' big outputs go to the model
compressed, and when the model asks for something a marker left out (``headroom_retrieve``)
the wrapper answers it -- the agent only sees its own tools and the final answer.

    python examples/agno_agent.py       # needs headroom[agno] and openai
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agno.agent import Agent
from agno.models.openai import OpenAIChat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream

from headroom.adapters import HeadroomAgnoModel
from headroom.ccr import MemoryStore

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
WORKERS = json.dumps([{"id": f"worker-{i}", "host": f"10.0.{i // 250}.{i % 250}", "state": "up",
                       "batches": 600 + i % 7, "heartbeat_ms": 1000 + i % 13} for i in range(400)], indent=2)


def list_workers() -> str:
    """List the dispatcher's workers as JSON."""
    return WORKERS


def read_log(path: str) -> str:
    """Read a log file."""
    return LOG


def main() -> None:
    plan = [("list_workers", {}), ("read_log", {"path": "/var/log/dispatcher.log"})]
    with FakeUpstream(plan=plan) as upstream:  # scripted: calls both tools, then headroom_retrieve once
        model = HeadroomAgnoModel(OpenAIChat(id="gpt-4o", base_url=upstream.url + "/v1", api_key="k"),
                                  store=MemoryStore())  # default store: a SQLite file shared by processes
        agent = Agent(model=model, tools=[list_workers, read_log], telemetry=False,
                      instructions="You are the on-call assistant. Quote log lines exactly.")
        answer = agent.run("Why was batch 2999 requeued?").content
    stats = model.stats
    print(f"model requests {len(upstream.requests)} (one was the wrapper's retrieve round)")
    print(f"tokens before {stats.tokens_before:,}")
    print(f"tokens after {stats.tokens_after:,}")
    print(f"retrievals {stats.retrievals}")
    print(f"final answer: {answer}")


if __name__ == "__main__":
    main()
