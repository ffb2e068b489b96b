"""HeadroomCallback in LiteLLM, end to end against a fake provider on 127.0.0.1.

One line turns it on: ``litellm.callbacks = [HeadroomCallback()]``. Every LiteLLM call
(sync, async, streamed, Responses, Anthropic messages, the proxy) then sends compressed
messages; the callback keeps per-call stats.

    python examples/litellm_callback.py       # needs headroom[litellm]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

import litellm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream

from headroom.callbacks import HeadroomCallback
from headroom.ccr import MemoryStore

SESSION = Path(__file__).resolve().parent / "agent_session.json"


def main() -> None:
    session = json.loads(SESSION.read_text())
    callback = HeadroomCallback(store=MemoryStore())  # default store: a SQLite file any process can read
    litellm.callbacks = [callback]
    with FakeUpstream() as upstream:
        base = upstream.url + "/v1"
        reply = litellm.completion(model="openai/" + session["model"], messages=session["messages"],
                                   api_base=base, api_key="sk-fake")
        print("completion  answered:", reply.choices[0].message.content)
        areply = asyncio.run(litellm.acompletion(model="openai/" + session["model"], messages=session["messages"],
                                                 api_base=base, api_key="sk-fake"))
        print("acompletion answered:", areply.choices[0].message.content)
        sent = json.dumps(upstream.requests[-1].body["messages"])
    print(f"\nprovider received {len(sent):,} bytes of messages (original: {len(json.dumps(session['messages'])):,})")
    for call in callback.calls:
        print(f"{call.call_type:<12} via {call.hook:<31} tokens {call.tokens_before:>7,} -> {call.tokens_after:>6,}"
              f"  ({call.ms:.0f} ms){'  error: ' + call.error if call.error else ''}")
    print(f"total tokens saved: {callback.total_tokens_saved:,}")


if __name__ == "__main__":
    main()
