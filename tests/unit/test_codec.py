"""The spec's test vectors, byte for byte, and the resynchronisation rules."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from installer_app.device.codec import (
    Frame,
    FrameDecoder,
    MalformedPayload,
    crc16_ccitt_false,
    decode_tlv,
    encode_frame,
    encode_tlv,
)
from installer_app.device.protocol import Tag


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


HELLO_REQ = h("a5 5a 01 01 01 00 00 d9 fa")
HELLO_RESP = h(
    "a5 5a 01 81 01 21 00 01 01 01 02 0a 57 58 2d 41 54 54 2d 32 30 30 03 05 31 2e 34 2e 32"
    " 04 06 24 0a c4 12 34 56 05 01 00 d6 7f"
)
WRITE_REQ = h(
    "a5 5a 01 02 02 31 00 06 0d 57 58 41 32 30 30 30 30 31 32 33 34 35 07 20 38 66 31 34 65 34"
    " 35 66 63 65 65 61 31 36 37 61 35 61 33 36 64 65 64 64 34 62 65 61 32 35 34 33 81 06"
)
VERIFY_REQ = h("a5 5a 01 03 03 12 00 08 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 68 c5")
VERIFY_RESP = h(
    "a5 5a 01 83 03 31 00 06 0d 57 58 41 32 30 30 30 30 31 32 33 34 35 09 20 15 c0 53 18 0d 32"
    " 3b 08 af be 77 21 b1 78 68 3b c5 5c a6 05 d1 a5 7c 6e c6 cf c5 10 9d b6 90 c6 9c 4c"
)
ERROR_LOCKED = h("a5 5a 01 ff 02 03 00 0f 01 04 8a e9")

SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"
NONCE = bytes(range(16))


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_hello_request_vector() -> None:
    assert encode_frame(0x01, 1) == HELLO_REQ


def test_hello_response_vector() -> None:
    payload = encode_tlv(
        [
            (Tag.PROTO, b"\x01"),
            (Tag.MODEL_ID, b"WX-ATT-200"),
            (Tag.FW_VERSION, b"1.4.2"),
            (Tag.HW_ID, h("240AC4123456")),
            (Tag.STATE, b"\x00"),
        ]
    )
    assert encode_frame(0x81, 1, payload) == HELLO_RESP


def test_write_request_vector() -> None:
    payload = encode_tlv([(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    assert encode_frame(0x02, 2, payload) == WRITE_REQ


def test_verify_vectors_and_proof() -> None:
    assert encode_frame(0x03, 3, encode_tlv([(Tag.NONCE, NONCE)])) == VERIFY_REQ
    proof = hmac.new(SECRET, NONCE + SN, hashlib.sha256).digest()
    assert proof.hex() == "15c053180d323b08afbe7721b178683bc55ca605d1a57c6ec6cfc5109db690c6"
    assert encode_frame(0x83, 3, encode_tlv([(Tag.SN, SN), (Tag.PROOF, proof)])) == VERIFY_RESP


def test_error_vector() -> None:
    assert encode_frame(0xFF, 2, encode_tlv([(Tag.ERROR_CODE, b"\x04")])) == ERROR_LOCKED


@pytest.mark.parametrize("vector", [HELLO_REQ, HELLO_RESP, WRITE_REQ, VERIFY_REQ, VERIFY_RESP])
def test_every_vector_decodes_back(vector: bytes) -> None:
    frames = FrameDecoder().feed(vector)
    assert len(frames) == 1
    assert encode_frame(frames[0].type, frames[0].seq, frames[0].payload) == vector


def test_decoded_hello_fields() -> None:
    (frame,) = FrameDecoder().feed(HELLO_RESP)
    fields = frame.fields()
    assert frame.type == 0x81 and frame.seq == 1
    assert fields[Tag.MODEL_ID] == b"WX-ATT-200"
    assert fields[Tag.HW_ID].hex() == "240ac4123456"


def test_a5_inside_log_line_is_skipped() -> None:
    dec = FrameDecoder()
    log = b"I (123) boot: reg=\xa5\x5a\x01 ok \xa5 more\r\n"
    frames = dec.feed(log + HELLO_RESP + b"tail")
    assert [f.seq for f in frames] == [1]
    assert dec.take_skipped() == log + b"tail"


def test_candidate_overlapping_real_frame() -> None:
    # A5 5A right before a real frame: the first candidate fails its CRC and scanning resumes
    # at the byte after its A5, which finds the real frame.
    frames = FrameDecoder().feed(b"\xa5\x5a" + HELLO_RESP)
    assert len(frames) == 1 and frames[0].type == 0x81


def test_few_bytes_per_read() -> None:
    dec = FrameDecoder()
    stream = b"boot log\n" + HELLO_RESP + b"\xa5" + VERIFY_RESP + ERROR_LOCKED
    got: list[Frame] = []
    for i in range(0, len(stream), 3):
        got += dec.feed(stream[i : i + 3])
    assert [(f.type, f.seq) for f in got] == [(0x81, 1), (0x83, 3), (0xFF, 2)]


def test_other_version_and_oversize_are_discarded() -> None:
    other = bytearray(HELLO_REQ)
    other[2] = 2
    big = b"\xa5\x5a\x01\x01\x01\x01\x04"  # length 1025
    frames = FrameDecoder().feed(bytes(other) + big + HELLO_REQ)
    assert len(frames) == 1


def test_corrupted_crc_is_dropped() -> None:
    bad = bytearray(WRITE_REQ)
    bad[-1] ^= 0xFF
    assert FrameDecoder().feed(bytes(bad)) == []


def test_abandon_partial_candidate() -> None:
    dec = FrameDecoder()
    # A log line that looks like a header announcing 1000 bytes, then a real response.
    assert dec.feed(b"\xa5\x5a\x01\x81\x05\xe8\x03" + ERROR_LOCKED) == []
    frames = dec.abandon_partial()
    assert [(f.type, f.seq) for f in frames] == [(0xFF, 2)]


def test_tlv_rules() -> None:
    assert decode_tlv(b"") == {}
    assert decode_tlv(b"\x99\x01\x00\x06\x01A") == {0x99: b"\x00", 0x06: b"A"}
    with pytest.raises(MalformedPayload):
        decode_tlv(b"\x06\x01A\x06\x01B")
    with pytest.raises(MalformedPayload):
        decode_tlv(b"\x06\x05AB")
    with pytest.raises(MalformedPayload):
        decode_tlv(b"\x06")
    with pytest.raises(ValueError):
        encode_tlv([(6, b"x" * 256)])


fields_st = st.dictionaries(st.integers(0, 255), st.binary(max_size=40), max_size=8)


@given(fields_st, st.integers(0, 255), st.integers(1, 255))
def test_roundtrip(fields: dict[int, bytes], ftype: int, seq: int) -> None:
    payload = encode_tlv(fields)
    (frame,) = FrameDecoder().feed(encode_frame(ftype, seq, payload))
    assert (frame.type, frame.seq, frame.fields()) == (ftype, seq, fields)


@given(
    st.lists(st.tuples(st.binary(max_size=30), fields_st, st.integers(1, 255)), max_size=6),
    st.integers(1, 7),
)
def test_resync_under_random_noise(
    chunks: list[tuple[bytes, dict[int, bytes], int]], read_size: int
) -> None:
    stream = b""
    expected = []
    for noise, fields, seq in chunks:
        frame = encode_frame(0x86, seq, encode_tlv(fields))
        stream += noise + frame
        expected.append((seq, fields))
    dec = FrameDecoder()
    got: list[Frame] = []
    for i in range(0, len(stream), read_size):
        got += dec.feed(stream[i : i + read_size])
    got += dec.abandon_partial()
    # Noise can, rarely, form a valid frame of its own; every real frame must still be found in
    # order, and a noise candidate can swallow a real frame only by also passing a CRC.
    real = [(f.seq, f.fields()) for f in got if f.type == 0x86]
    it = iter(real)
    assert all(any(e == r for r in it) for e in expected)
