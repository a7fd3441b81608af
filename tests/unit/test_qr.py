"""Binding QR codes: the spec's signature example, renewal of the dynamic code, rendering that
scans (decoded with zxing-cpp), and never a secret inside a code."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image

from installer_app.provider import qr
from installer_app.secrets import Secret

SN = "WXA2000012345"
SECRET_NO = Secret("8f14e45fceea167a5a36dedd4bea2543")
EXAMPLE_NONCE = "9127310056281943511"
EXAMPLE_SIG = "90524bc36820762fe5b8f4bcede0bb99a1204c87"


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_spec_example_signature() -> None:
    assert qr.dynamic_signature(SN, SECRET_NO, 1764316800, EXAMPLE_NONCE) == EXAMPLE_SIG


def test_spec_example_url() -> None:
    url = qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, EXAMPLE_NONCE)
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == (
        "https",
        "open.work.weixin.qq.com",
        "/connect/hardware",
    )
    assert parse_qs(parts.query) == {
        "sn": [SN],
        "timestamp": ["1764316800"],
        "nonce": [EXAMPLE_NONCE],
        "signature": [EXAMPLE_SIG],
        "type": ["qrcode"],
    }
    assert SECRET_NO.reveal() not in url


def test_signature_sorts_raw_byte_strings() -> None:
    # A SecretNo with punctuation sorts before digits: order matters, not position.
    import hashlib

    secret = Secret("!zz")
    values = sorted([b"SN9", b"!zz", b"1700000000", b"12345678", b"qrcode"])
    expected = hashlib.sha1(b"".join(values)).hexdigest()
    assert qr.dynamic_signature("SN9", secret, 1700000000, "12345678") == expected


@pytest.mark.parametrize(
    "nonce",
    [
        "q7Zp2LmX",  # the old letters-and-digits nonce: not a Uint64
        "0",
        "007",  # leading zeros
        "18446744073709551616",  # 2**64
        "-5",
        "+5",
        "1e5",
        " 5",
        "",
        "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes, WeCom would not
    ],
)
def test_nonce_must_be_a_decimal_uint64(nonce: str) -> None:
    with pytest.raises(ValueError):
        qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, nonce)


def test_nonce_limits_are_accepted() -> None:
    for nonce in ("1", "18446744073709551615"):
        assert f"nonce={nonce}&" in qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, nonce)


def test_new_nonce_is_a_random_decimal_uint64() -> None:
    nonces = {qr.new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    for nonce in nonces:
        assert nonce.isascii() and nonce.isdigit() and not nonce.startswith("0")
        assert 1 <= int(nonce) <= 2**64 - 1
        qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, nonce)
    # Spread over the whole range, not just short numbers.
    assert max(len(n) for n in nonces) >= 19


def test_dynamic_code_is_renewed_before_it_expires() -> None:
    now = [1764316800.0]
    dyn = qr.DynamicQr(SN, SECRET_NO, clock=lambda: now[0])
    first = dyn.current()
    assert first.kind == "dynamic"
    assert first.expires_at == first.issued_at + 1800
    now[0] += 599
    assert dyn.current() is first
    now[0] += 1
    second = dyn.current()
    assert second.url != first.url
    assert second.issued_at == 1764317400 and second.expires_at is not None
    # While displayed it is always valid for at least 20 more minutes.
    assert second.expires_at - now[0] >= 1200
    assert dyn.next_renewal_at() == second.issued_at + 600


def test_dynamic_code_must_renew_within_validity() -> None:
    with pytest.raises(ValueError):
        qr.DynamicQr(SN, SECRET_NO, refresh_every_s=1800, valid_s=1800)


def test_static_url_is_validated() -> None:
    good = "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC123"
    assert qr.static_qr_url(good) == good
    code = qr.static_code(good, now=5.0)
    assert code.kind == "static" and code.expires_at is None and code.issued_at == 5.0
    for bad in (
        "http://open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
        "https://evil.example/connect/hardware?hw_code=ABC",
        "https://open.work.weixin.qq.com/connect/hardware",
        "not a url",
    ):
        with pytest.raises(qr.InvalidQrCode):
            qr.static_qr_url(bad)


HOSTILE_STATIC = [
    # A browser sends this to evil.example; urlsplit says the host is WeCom's.
    "https://evil.example\\@open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "https://evil.example@open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com@evil.example/connect/hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com:8443/connect/hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com.evil.example/connect/hardware?hw_code=ABC",
    "https://OPEN.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "HTTPS://open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "https:open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "https:///open.work.weixin.qq.com/connect/hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com\\connect\\hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com/connect/hardware/?hw_code=ABC",
    "https://open.work.weixin.qq.com/connect/hardware/../hardware?hw_code=ABC",
    "https://open.work.weixin.qq.com/connect/%68ardware?hw_code=ABC",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=AB%43",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC#frag",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC&next=https://evil.example",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC&hw_code=DEF",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=A+B",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=A B",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC;x=1",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC\nX-Injected: 1",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ＡＢＣ",
    "https://open.work.weixin.qq.com/connect/hardware?&hw_code=ABC",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code=ABC&",
    "https://open.work.weixin.qq.com/connect/hardware?hw_code",
]


@pytest.mark.parametrize("url", HOSTILE_STATIC)
def test_static_url_another_parser_could_misread_is_refused(url: str) -> None:
    with pytest.raises(qr.InvalidQrCode):
        qr.static_qr_url(url)


def test_static_url_allows_hw_code_alphabet_and_surrounding_blanks() -> None:
    url = "https://open.work.weixin.qq.com/connect/hardware?hw_code=aZ09_-x"
    assert qr.static_qr_url(f"  {url}\r\n") == url


def test_dynamic_url_is_checked_as_strictly() -> None:
    good = qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, EXAMPLE_NONCE)
    assert qr.check_dynamic_qr_url(good)["nonce"] == EXAMPLE_NONCE
    for bad in (
        good.replace("https://", "https://evil.example\\@"),
        good + "&extra=1",
        good + "#x",
        good.replace(EXAMPLE_NONCE, "q7Zp2LmX"),
        good.replace(EXAMPLE_NONCE, "0" + EXAMPLE_NONCE),
        good.replace("type=qrcode", "type=other"),
        good.replace("timestamp=1764316800", "timestamp=99999999999"),
        good.replace(EXAMPLE_SIG, EXAMPLE_SIG.upper()),
    ):
        with pytest.raises(qr.InvalidQrCode):
            qr.check_dynamic_qr_url(bad)


def test_a_secret_is_never_put_into_a_qr_code() -> None:
    leaky = f"https://open.work.weixin.qq.com/connect/hardware?hw_code={SECRET_NO.reveal()}"
    with pytest.raises(qr.InvalidQrCode) as info:
        qr.static_qr_url(leaky, SECRET_NO)
    assert SECRET_NO.reveal() not in str(info.value)
    # What is actually encoded in the picture carries neither the secret nor any part of it.
    url = qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, EXAMPLE_NONCE)
    (payload,) = decode(Image.open(io.BytesIO(qr.render_png(url))))
    assert payload == url
    assert SECRET_NO.reveal() not in payload and SECRET_NO.reveal()[:8] not in payload


def test_png_scans() -> None:
    url = "https://open.work.weixin.qq.com/connect/hardware?hw_code=ZXCV1234"
    data = qr.render_png(url, box_size=3)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    assert image.mode == "L" and image.size[0] == image.size[1]
    assert decode(image) == [url]


@pytest.mark.parametrize("mask", range(8))
def test_a_code_with_a_fixed_mask_scans(mask: int) -> None:
    """The bench's binding queue draws its codes with one mask (cheaper than trying all)."""
    url = "https://open.work.weixin.qq.com/connect/hardware?hw_code=BENCH6285C6F72991"
    matrix = qr.qr_matrix(url, mask=mask)
    assert len(matrix) == len(qr.qr_matrix(url))  # same version, same quiet zone
    image = Image.new("L", (len(matrix), len(matrix)), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.putpixel((x, y), 0)
    image = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
    assert decode(image) == [url]


def terminal_to_image(text: str, dark_background: bool) -> Image.Image:
    """Paint the half blocks as a terminal would: ink light on dark, or dark on light."""
    lines = text.split("\n")
    width = max(len(line) for line in lines)
    ink, paper = (255, 0) if dark_background else (0, 255)
    image = Image.new("L", (width, 2 * len(lines)), paper)
    halves = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            top, bottom = halves[ch]
            if top:
                image.putpixel((x, 2 * y), ink)
            if bottom:
                image.putpixel((x, 2 * y + 1), ink)
    image = image.resize((width * 6, 2 * len(lines) * 6), Image.Resampling.NEAREST)
    # a margin of the terminal's background around it
    framed = Image.new("L", (image.width + 48, image.height + 48), paper)
    framed.paste(image, (24, 24))
    return framed


@pytest.mark.parametrize("dark_background", [True, False])
def test_terminal_rendering_scans(dark_background: bool) -> None:
    url = qr.dynamic_qr_url(SN, SECRET_NO, 1764316800, EXAMPLE_NONCE)
    text = qr.render_terminal(url, dark_background=dark_background)
    assert set(text) <= {"█", "▀", "▄", " ", "\n"}
    lines = text.split("\n")
    # half blocks: about half as many lines as columns
    assert len(lines) <= len(lines[0]) // 2 + 1
    assert decode(terminal_to_image(text, dark_background)) == [url]
