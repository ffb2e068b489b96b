"""Token counting works offline, with the encodings shipped in the package."""

from __future__ import annotations

import os
import subprocess
import sys

from headroom import count_tokens
from headroom.tokens import encoding_name_for_model

_OFFLINE = """
import socket, sys
def refuse(*a, **k):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from headroom import count_tokens
print(count_tokens("hello world", "gpt-4o"), count_tokens("hello world", "gpt-4"),
      count_tokens("hello world", "claude-sonnet-4-5"))
"""


def test_counting_never_touches_the_network(tmp_path: object) -> None:
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path)}  # empty cache: tiktoken would download
    out = subprocess.run([sys.executable, "-c", _OFFLINE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "2", "2"]
    assert os.listdir(str(tmp_path)) == []


def test_encodings_by_model() -> None:
    assert encoding_name_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_name_for_model("openai/gpt-4.1") == "o200k_base"
    assert encoding_name_for_model("gpt-4-turbo") == "cl100k_base"
    assert encoding_name_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_name_for_model("claude-sonnet-4-5-20250929") == "o200k_base"
    assert encoding_name_for_model(None) == "o200k_base"


def test_each_model_gets_its_own_encoding() -> None:
    from headroom.tokens import encoding_for_model

    text = "The quick brown fox jumps over the lazy dog."
    # known ids: o200k_base and cl100k_base encode "The" differently
    assert encoding_for_model("gpt-4o").encode_ordinary(text)[0] == 976
    assert encoding_for_model("gpt-4").encode_ordinary(text)[0] == 791
    assert count_tokens(text, "gpt-4o") == 10


def test_count_messages_counts_visible_text() -> None:
    msgs = [
        {"role": "user", "content": "hello world"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "hello world"},
    ]
    assert count_tokens(msgs, "gpt-4o") == 2 + count_tokens("ls", "gpt-4o") + count_tokens("{}", "gpt-4o") + 2
