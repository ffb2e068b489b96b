"""A Strands agent whose model is wrapped in Headroom, against the fake provider.

The agent lists a directory, reads a log with one ERROR line among 3,000 INFO lines, and
reads a source file; the wrapper compresses those outputs before each model call, offers
``headroom_retrieve`` once markers hold refs and answers the model's call to it, so the
agent only sees its own tools and the final answer. Needs ``pip install 'headroom[strands]'
openai``; no keys, no network (the provider is ``fake_upstream.py`` on 127.0.0.1).

    python examples/strands_agent.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream
from strands import Agent, tool
from strands.models.openai import OpenAIModel

from headroom.adapters import HeadroomStrandsModel

LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
SOURCE = Path(__file__).resolve().parents[1] / "headroom" / "budget.py"


@tool
def list_files(path: str) -> str:
    """List the files under a directory, as JSON."""
    return json.dumps([{"name": f"{path}/module_{i:03d}.py", "size": 1000 + 37 * i, "owner": "ci" if i % 3 else "dev"}
                       for i in range(400)], indent=2)


@tool
def read_log(path: str) -> str:
    """Read a log file."""
    return LOG


@tool
def read_source(path: str) -> str:
    """Read a source file."""
    return SOURCE.read_text()


def main() -> None:
    plan = [("list_files", {"path": "src"}), ("read_log", {"path": "app.log"}), ("read_source", {"path": "budget.py"})]
    with FakeUpstream(plan=plan) as upstream:
        inner = OpenAIModel(client_args={"base_url": upstream.url + "/v1", "api_key": "not-needed"}, model_id="gpt-4o")
        model = HeadroomStrandsModel(inner)
        agent = Agent(model=model, tools=[list_files, read_log, read_source], callback_handler=None)
        answer = str(agent("Why was batch 2999 requeued?")).strip()
    stats = model.get_metrics()
    print(f"model requests {len(upstream.requests)}")
    print(f"tokens before {stats['tokens_before']:,}")
    print(f"tokens after {stats['tokens_after']:,}")
    print(f"retrievals {stats['retrievals']}")
    print(f"final answer: {answer}")


if __name__ == "__main__":
    main()
