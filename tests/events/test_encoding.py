"""The SSE wire format: one frame per event, whatever the data holds."""

from __future__ import annotations

import json

import pytest
from httpx_sse._decoders import SSEDecoder

from events.encoding import HEARTBEAT, encode_comment, encode_event, encode_retry


def decode(stream: bytes) -> list[tuple[str, str, str]]:
    """Parse bytes with a spec-following decoder (httpx-sse's) into (id, event, data)."""
    decoder = SSEDecoder()
    events = []
    # The stream ends with "\n": splitting leaves one empty string after it, which is no line.
    for line in stream.decode().split("\n")[:-1]:
        sse = decoder.decode(line)
        if sse is not None:
            events.append((sse.id, sse.event, sse.data))
    return events


HOSTILE_STRINGS = [
    "line one\nline two",
    "carriage\rreturn",
    "crlf\r\n\r\nblank lines",
    "data: injected\n\nevent: evil",
    "separators\u2028and\u2029paragraphs",
    "next line \x85 character",
    "tab\tand\x00nul and \x1b escape",
    "unicode ✓ café 𝔘",
    "",
]


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_hostile_strings_stay_inside_one_data_line(text: str) -> None:
    frame = encode_event("deal.created", {"business_name": text, "nested": {"list": [text]}}, event_id=7)

    body = frame.decode()
    assert body.endswith("\n\n")
    lines = body[:-2].split("\n")
    assert lines == [lines[0], lines[1], lines[2]]
    assert lines[0] == "id: 7"
    assert lines[1] == "event: deal.created"
    assert lines[2].startswith("data: ")
    # No character any client might treat as a line end survives unescaped.
    for forbidden in ("\r", "\x85", "\u2028", "\u2029"):
        assert forbidden not in body
    assert len(body[:-2].splitlines()) == 3  # Python's splitlines knows every line-end character
    assert json.loads(lines[2].removeprefix("data: ")) == {"business_name": text, "nested": {"list": [text]}}


def test_a_spec_decoder_reads_back_exactly_what_was_encoded() -> None:
    stream = b"".join(
        encode_event("processing.progress", {"note": text, "n": i}, event_id=100 + i)
        for i, text in enumerate(HOSTILE_STRINGS)
    )
    decoded = decode(stream)
    assert [(int(i), e) for i, e, _ in decoded] == [
        (100 + i, "processing.progress") for i in range(len(HOSTILE_STRINGS))
    ]
    assert [json.loads(d)["note"] for _, _, d in decoded] == HOSTILE_STRINGS


def test_data_is_compact_one_line_json() -> None:
    frame = encode_event("status", {"job_id": "job_1", "status": "queued"})
    assert frame == b'event: status\ndata: {"job_id":"job_1","status":"queued"}\n\n'


def test_id_line_only_when_an_id_is_given() -> None:
    assert not encode_event("log", {"message": "x"}).startswith(b"id:")
    assert b"\nid:" not in encode_event("log", {"message": "x"})
    assert encode_event("log", {}, event_id=0).startswith(b"id: 0\n")
    assert encode_event("log", {}, event_id=2**63 - 1).startswith(b"id: 9223372036854775807\n")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "deal.created\n",
        "deal.created\ndata: x",
        "two words",
        "colon:name",
        "1starts.with.digit",
        "emoji✓",
        "x" * 65,
        "carriage\r",
    ],
)
def test_invalid_event_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="Invalid SSE event name"):
        encode_event(name, {})


@pytest.mark.parametrize(
    "name", ["deal.created", "stream.reset", "status", "batch.document_failed", "x" * 64]
)
def test_catalogue_style_names_are_accepted(name: str) -> None:
    assert encode_event(name, {}).startswith(f"event: {name}\n".encode())


def test_non_json_values_are_stringified_not_fatal() -> None:
    import datetime
    import decimal

    frame = encode_event(
        "x", {"when": datetime.datetime(2026, 1, 2, 3, 4, 5), "amount": decimal.Decimal("1.50")}
    )
    data = json.loads(frame.decode().split("data: ", 1)[1])
    assert data == {"when": "2026-01-02 03:04:05", "amount": "1.50"}


def test_comments_and_retry_are_single_frames() -> None:
    assert HEARTBEAT == b": heartbeat\n\n"
    assert encode_comment("a\nb\rc") == b": a b c\n\n"
    assert encode_retry(3000) == b"retry: 3000\n\n"
    # A comment is ignored by clients: it yields no event.
    assert decode(HEARTBEAT + encode_comment("x\ny")) == []
