"""WeCom's callback message crypto against WeCom's own test vector (team-server.md)."""

from __future__ import annotations

import pytest

from installer_app.secrets import Secret
from installer_app.wecom_crypto import CallbackCryptoError, MessageCrypto, signature

TOKEN = Secret("QDG6eK")
AES_KEY = Secret("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
RECEIVE_ID = "wx5823bf96d3bd56c7"


def test_the_spec_vector_signature_and_message() -> None:
    assert (
        signature(TOKEN, "1409659589", "263014780", ECHOSTR)
        == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    )
    crypto = MessageCrypto(TOKEN, AES_KEY, RECEIVE_ID)
    crypto.verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", ECHOSTR)
    assert crypto.decrypt(ECHOSTR) == "1616140317555161061"


def test_a_wrong_signature_or_receiver_is_refused() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, RECEIVE_ID)
    with pytest.raises(CallbackCryptoError):
        crypto.verify("0" * 40, "1409659589", "263014780", ECHOSTR)
    with pytest.raises(CallbackCryptoError):
        MessageCrypto(TOKEN, AES_KEY, "wwsomeoneelse").decrypt(ECHOSTR)


def test_encrypt_round_trips_with_padding_to_32() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, RECEIVE_ID)
    for text in ("", "x", "<xml>" + "中" * 40 + "</xml>"):
        sealed = crypto.encrypt(text)
        assert crypto.decrypt(sealed) == text
    with pytest.raises(CallbackCryptoError):
        crypto.decrypt("bm90IGJsb2Nrcw==")
