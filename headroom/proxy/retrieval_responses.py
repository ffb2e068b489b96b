"""Retrieval in streamed Responses replies (see :mod:`headroom.proxy.retrieval_streams`).

Items carry an ``output_index`` and every event a ``sequence_number``, which the client
must see count up without gaps across hidden rounds; ``response.completed`` repeats the
whole output list, so the items the client got in earlier rounds are put back in front,
under the response id of the first round (the OpenAI SDK refuses a stream whose response
identity changes; ``previous_response_id`` chaining then continues from the first round's
stored response, which lacks the hidden retrieve exchange).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from headroom.adapters.loop import Answer, ToolCall
from headroom.proxy.retrieval import add_usage, continued
from headroom.proxy.retrieval_streams import StreamTurn, compacted, index_of, shifted
from headroom.proxy.sse import Event
from headroom.proxy.upstream import SendStream

__all__ = ["ResponsesStream"]


_OPENING = ("response.created", "response.in_progress", "response.queued")
_CLOSING = ("response.completed", "response.incomplete", "response.failed")


class ResponsesStream(StreamTurn):
    """Responses events: items carry an ``output_index``, every event a ``sequence_number``;
    ``response.completed`` repeats the whole output list and the usage."""

    def __init__(self, body: dict[str, Any], first: AsyncIterator[bytes], send: SendStream) -> None:
        super().__init__(body, first, send)
        self.offset = 0  # output items the client got in earlier rounds
        self.shown: list[dict[str, Any]] = []  # ... and those items, for the final output list
        self.seq: int | None = None
        self.response_id: Any = None  # the id the client saw first: SDKs reject a response whose id changes

    def begin(self) -> None:
        self.items: dict[int, dict[str, Any]] = {}  # this round's finished items by their own index
        self.usage: dict[str, Any] | None = None

    def see(self, event: Event) -> Event | None:
        data, kind = event.json, event.type
        if data is None:
            return event
        if kind in _OPENING:
            if self.round > 0:
                return None
            if isinstance(data.get("response"), dict):
                self.response_id = data["response"].get("id")
        at = index_of(event, "output_index")
        if kind == "response.output_item.done" and at is not None and isinstance(data.get("item"), dict):
            self.items[at] = copy.deepcopy(data["item"])
        if kind in _CLOSING and isinstance(data.get("response"), dict):
            response = data["response"]
            self.usage = response.get("usage") if isinstance(response.get("usage"), dict) else None
            if self.shown or self.pending is not None:
                response = {**response, "output": [*self.shown, *(response.get("output") or [])]}
                if self.usage is not None:
                    response["usage"] = add_usage(self.pending, self.usage)
                if self.response_id is not None:
                    response["id"] = self.response_id
                event = event.replace({**data, "response": response})
        return shifted(event, "output_index", self.offset)

    def emit(self, event: Event) -> Event | None:
        """Sequence numbers count what the client got: hidden rounds leave no gap."""
        seq = index_of(event, "sequence_number")
        if seq is None or event.json is None:
            return event
        expected = seq if self.seq is None else self.seq + 1
        self.seq = expected
        return event if seq == expected else event.replace({**event.json, "sequence_number": expected})

    def holds(self, event: Event) -> bool:
        item = (event.json or {}).get("item") or {}
        return event.type == "response.output_item.added" and item.get("type") == "function_call"

    def _calls(self, held: list[Event]) -> list[tuple[ToolCall, int]]:
        """Each finished function_call item in ``held``: its call and its (client) index."""
        out: list[tuple[ToolCall, int]] = []
        for event in held:
            at = index_of(event, "output_index")
            item = (event.json or {}).get("item") or {}
            if event.type == "response.output_item.done" and at is not None and item.get("type") == "function_call":
                out.append((ToolCall(str(item.get("call_id")), str(item.get("name")), item.get("arguments") or ""), at))
        return out

    def calls(self, held: list[Event]) -> list[ToolCall]:
        return [] if self.failed(held) else [call for call, _ in self._calls(held)]

    def extend(self, held: list[Event], answers: list[Answer]) -> None:
        ids = {a.call_id for a in answers}
        items = [item for _, item in sorted(self.items.items())
                 if item.get("type") != "function_call" or item.get("call_id") in ids]
        continued("responses", self.body, items, answers)
        if self.usage is not None:
            self.pending = add_usage(self.pending, self.usage)
        first_held = min((i for e in held if (i := index_of(e, "output_index")) is not None), default=self.offset)
        self.shown += [item for at, item in sorted(self.items.items()) if at + self.offset < first_held]
        self.offset = first_held

    def release(self, held: list[Event], drop: Sequence[ToolCall]) -> Iterator[Event]:
        ids = {c.id for c in drop}
        dropped = {at for call, at in self._calls(held) if call.id in ids}
        for event in held:
            if index_of(event, "output_index") in dropped:
                continue
            data = event.json or {}
            response = data.get("response")
            if event.type in _CLOSING and isinstance(response, dict):
                output = [i for i in response.get("output") or ()
                          if not (isinstance(i, dict) and i.get("type") == "function_call" and i.get("call_id") in ids)]
                event = event.replace({**data, "response": {**response, "output": output}})
            yield compacted(event, "output_index", dropped)
