"""The client's WHATWG server-sent events parser, fed bytes as a network would deliver them."""

from __future__ import annotations

import pytest
from dealstream.sse import Event, SSEDecoder


def parse(*chunks: bytes, last_event_id: str = "") -> tuple[list[Event], SSEDecoder]:
    decoder = SSEDecoder(last_event_id)
    events: list[Event] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events, decoder


def test_it_parses_an_event_with_json_data():
    events, decoder = parse(b'id: 7\nevent: deal.created\ndata: {"deal_id": 1}\n\n')
    assert events == [Event(type="deal.created", data={"deal_id": 1}, id="7", raw='{"deal_id": 1}')]
    assert decoder.last_event_id == "7"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_it_accepts_every_line_ending(newline):
    stream = newline.join([b"id: 1", b"event: a", b"data: 1", b"", b"id: 2", b"data: 2", b"", b""])
    events, decoder = parse(stream)
    assert [(e.type, e.data, e.id) for e in events] == [("a", 1, "1"), ("message", 2, "2")]
    assert decoder.last_event_id == "2"


def test_a_crlf_split_between_chunks_is_one_line_ending():
    events, _ = parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n")
    assert [e.data for e in events] == [1, 2]


def test_the_result_does_not_depend_on_how_bytes_are_chunked():
    stream = 'id: 5\r\nevent: x\r\ndata: {"n": "é€"}\r\ndata: second\r\n\r\n: hb\n\nretry: 70\n\n'.encode()
    whole, whole_decoder = parse(stream)
    split, split_decoder = parse(*(stream[i : i + 1] for i in range(len(stream))))
    assert whole == split
    assert split[0].raw == '{"n": "é€"}\nsecond'
    assert (
        (split_decoder.comments, split_decoder.retry)
        == (whole_decoder.comments, whole_decoder.retry)
        == (1, 70)
    )


def test_data_lines_are_joined_with_newlines():
    events, _ = parse(b"data: one\ndata:two\ndata\ndata:  four\n\n")
    assert events[0].data == "one\ntwo\n\n four"


def test_only_one_space_after_the_colon_is_dropped():
    events, _ = parse(b"event:  spaced\ndata:x\n\n")
    assert (events[0].type, events[0].data) == (" spaced", "x")


def test_a_leading_bom_is_skipped_even_when_split():
    events, _ = parse(b"\xef\xbb", b"\xbfdata: 1\n\n")
    assert [e.data for e in events] == [1]


def test_a_bom_later_in_the_stream_is_data():
    events, _ = parse(b"data: 1\n\n", "\ufeffdata: 2\n\n".encode())
    # The second "field name" is U+FEFF + "data": unknown, so ignored.
    assert [e.data for e in events] == [1]


def test_an_id_containing_nul_is_ignored():
    events, decoder = parse(b"id: 3\ndata: a\n\nid: 4\x005\ndata: b\n\n")
    assert [e.id for e in events] == ["3", None]
    assert decoder.last_event_id == "3"


def test_retry_accepts_ascii_digits_only():
    _, decoder = parse(b"retry: 250\n\n")
    assert decoder.retry == 250
    for bad in (
        b"retry: 1.5\n\n",
        b"retry: -1\n\n",
        b"retry: 12a\n\n",
        "retry: ²\n\n".encode(),
        b"retry:\n\n",
    ):
        decoder.feed(bad)
        assert decoder.retry == 250, bad


def test_comments_are_counted_not_dispatched():
    events, decoder = parse(b": heartbeat\n\n: heartbeat\n\n")
    assert events == []
    assert decoder.comments == 2


def test_a_block_without_data_updates_the_last_event_id_only():
    events, decoder = parse(b"id: 9\nevent: ping\n\n")
    assert events == []
    assert decoder.last_event_id == "9"


def test_an_unfinished_event_is_discarded_at_the_end_of_the_stream():
    events, decoder = parse(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    decoder.close()
    assert [e.id for e in events] == ["1"]
    assert decoder.last_event_id == "1"  # the half-received event's id is not kept
    assert decoder.feed(b"\n") == []  # nothing of it survives


def test_unicode_line_separators_are_not_line_endings():
    # httpx's iter_lines() would split here; the SSE format only knows CR and LF.
    events, _ = parse('data: {"name": "a\u2028b\x85c"}\n\ndata: x\x0by\x0cz\x1ew\n\n'.encode())
    assert events[0].data == {"name": "a\u2028b\x85c"}
    assert events[1].data == "x\x0by\x0cz\x1ew"


def test_invalid_utf8_becomes_replacement_characters():
    events, _ = parse(b"data: caf\xe9\n\n")
    assert events[0].data == "caf\ufffd"


def test_non_json_data_is_kept_as_text():
    events, _ = parse(b"data: not json\n\n")
    assert events[0].data == "not json"
    assert events[0].raw == "not json"


def test_the_last_event_id_carries_over_from_a_previous_connection():
    _, decoder = parse(b"data: 1\n\n", last_event_id="41")
    assert decoder.last_event_id == "41"
