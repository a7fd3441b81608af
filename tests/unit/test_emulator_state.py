"""The emulator's rules on a fake clock, without HTTP or files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer_app.provider.emulator import dynamic_signature
from installer_app.provider.emulator.records import ApiError
from installer_app.provider.emulator.state import EmulatorState


class Clock:
    def __init__(self) -> None:
        self.now = 1_764_316_800.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _options() -> dict[str, object]:
    return {
        "corpid": "wwprov",
        "provider_secret": "s3cret-value",
        "model_ids": ("M1", "M2"),
        "install_delay_s": 3.0,
        "token_ttl_s": 7200,
    }


def make_state(clock: Clock, **kwargs: object) -> EmulatorState:
    options = _options()
    options.update(kwargs)
    return EmulatorState(None, clock=clock, **options)  # type: ignore[arg-type]


def errcode(call: object) -> int:
    assert callable(call)
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.errcode


def test_spec_b_signature_example() -> None:
    sig = dynamic_signature(
        "WXA2000012345", "8f14e45fceea167a5a36dedd4bea2543", "1764316800", "9127310056281943511"
    )
    assert sig == "90524bc36820762fe5b8f4bcede0bb99a1204c87"


def _dynamic(sn: str, secret: str, ts: str, nonce: str) -> str:
    sig = dynamic_signature(sn, secret, ts, nonce)
    return (
        f"https://open.work.weixin.qq.com/connect/hardware?sn={sn}&timestamp={ts}"
        f"&nonce={nonce}&signature={sig}&type=qrcode"
    )


@pytest.mark.parametrize(
    "nonce", ["q7Zp2LmX", "0", "0123456789", "18446744073709551616", "-1", "1.5"]
)
def test_scan_refuses_a_nonce_that_is_not_a_decimal_uint64(clock: Clock, nonce: str) -> None:
    state = make_state(clock)
    device = state.add_device("M1", "QRN1")
    url = _dynamic("QRN1", device.secret_no, str(int(clock.now)), nonce)
    with pytest.raises(ApiError) as caught:
        state.scan(url)
    assert caught.value.http_status == 400
    assert not state.find("QRN1").bound  # type: ignore[union-attr]


def test_scan_accepts_the_uint64_nonce_range(clock: Clock) -> None:
    state = make_state(clock)
    for sn, nonce in (("QRN2", "1"), ("QRN3", "18446744073709551615")):
        device = state.add_device("M1", sn)
        assert state.scan(_dynamic(sn, device.secret_no, str(int(clock.now)), nonce)).bound


@pytest.mark.parametrize(
    "template",
    [
        "https://evil.example\\@open.work.weixin.qq.com/connect/hardware?hw_code={hw}",
        "https://evil.example@open.work.weixin.qq.com/connect/hardware?hw_code={hw}",
        "https://open.work.weixin.qq.com:443/connect/hardware?hw_code={hw}",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code={hw}#x",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code={hw}&next=x",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code=%{hw}",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code={hw}&hw_code={hw}",
    ],
)
def test_scan_refuses_links_another_parser_could_misread(clock: Clock, template: str) -> None:
    state = make_state(clock)
    device = state.add_device("M1", "QRS9")
    assert state.scan(device.qr_code).bound
    state.unbind("QRS9")
    with pytest.raises(ApiError) as caught:
        state.scan(template.format(hw=device.hw_code))
    assert caught.value.http_status == 400
    assert not state.find("QRS9").bound  # type: ignore[union-attr]


def test_device_id_is_an_int64(clock: Clock) -> None:
    state = make_state(clock)
    ids = [state.add_device("M1", f"DID{i}").device_id for i in range(50)]
    for device_id in ids:
        assert type(device_id) is int and 1 <= device_id <= 2**63 - 1
    assert len(set(ids)) == 50


def test_token_lifetime(clock: Clock) -> None:
    state = make_state(clock)
    token, expires_in = state.issue_token("wwprov", "s3cret-value")
    assert expires_in == 7200
    state.check_token(token)
    clock.now += 7199
    state.check_token(token)
    clock.now += 1
    assert errcode(lambda: state.check_token(token)) == 42001
    assert errcode(lambda: state.check_token("other")) == 40014
    assert errcode(lambda: state.check_token(None)) == 41001
    assert state.token_fetches == 1


def test_token_fetches_count_refusals_too(clock: Clock) -> None:
    state = make_state(clock)
    assert errcode(lambda: state.issue_token("wwother", "s3cret-value")) == 40013
    assert errcode(lambda: state.issue_token("wwprov", "nope")) == 40001
    assert errcode(lambda: state.issue_token("wwprov", None)) == 40001
    assert state.token_fetches == 3


def test_install_delay_and_agentid(clock: Clock) -> None:
    state = make_state(clock)
    state.add_device("M1", "SN1")
    state.bind("SN1", "wwcorp1", "某某公司")
    assert state.installed("wwcorp1") is None
    clock.now += 2.999
    assert state.installed("wwcorp1") is None
    clock.now += 0.001
    inst = state.installed("wwcorp1")
    assert inst is not None and inst.agentid == 1000002
    assert int(inst.install_at) == int(clock.now)
    # A second device in the same enterprise does not restart the clock.
    state.add_device("M1", "SN2")
    state.bind("SN2", "wwcorp1")
    assert state.installed("wwcorp1") is not None
    assert state.find("SN2") is not None
    assert state.find("sn2").corp_name == "某某公司"  # type: ignore[union-attr]


def test_auto_scan_from_registration_and_from_first_poll(clock: Clock) -> None:
    state = make_state(clock, auto_scan_after_s=5.0)
    state.add_device("M1", "AUTO1")
    clock.now += 4.9
    assert errcode(lambda: state.device_auth_info("AUTO1")) == 600004
    clock.now += 0.1
    bound = state.device_auth_info("AUTO1")
    assert bound.corpid == "wwtestcorp000001" and bound.corp_name == "测试科技有限公司"
    assert bound.bind_time == int(clock.now)

    state.unbind("AUTO1")  # once per device and run: an unbind sticks
    clock.now += 60
    assert errcode(lambda: state.device_auth_info("AUTO1")) == 600004

    # A device known before (no timer yet) is scanned some time after its first poll.
    state.auto_scan_after_s = None
    state.add_device("M1", "LATE1")
    state.auto_scan_after_s = 5.0
    clock.now += 60
    assert errcode(lambda: state.device_auth_info("LATE1")) == 600004
    clock.now += 5
    assert state.device_auth_info("LATE1").bound


def test_partner_sn_shapes(clock: Clock) -> None:
    state = make_state(clock)
    device, board = state.partner_register("M2", "0A1B2C")
    assert board.device_sn == "WX0A1B2C" == device.device_sn
    assert device.secret_no == board.credential
    assert errcode(lambda: state.partner_register("M2", "0a1b2c", "OTHER1")) == 600036
    assert errcode(lambda: state.partner_register("M2", "a" * 200)) == 40058
    assert errcode(lambda: state.partner_register("M9", "0a1b2c")) == 600038


def test_injections_are_used_up_in_order(clock: Clock) -> None:
    state = make_state(clock)
    state.faults.inject("/a", errcode=45009, count=2)
    state.faults.inject("*", http_status=503)
    assert state.faults.take("/b", "/b").http_status == 503  # type: ignore[union-attr]
    first = state.faults.take("/a", "/a")
    assert first is not None and first.errcode == 45009
    assert state.faults.take("/a", "/a").errcode == 45009  # type: ignore[union-attr]
    assert state.faults.take("/a", "/a") is None
    assert errcode(lambda: state.faults.inject("*")) == 400
    assert errcode(lambda: state.faults.inject("*", errcode=1, http_status=500)) == 400
    assert errcode(lambda: state.faults.inject("*", http_status=200)) == 400


def test_del_and_list(clock: Clock) -> None:
    state = make_state(clock)
    for i in range(5):
        state.add_device("M1", f"L{i}")
    assert [d.device_sn for d in state.list_devices(3, 10)] == ["L3", "L4"]
    state.del_device("l0")
    assert [d.device_sn for d in state.list_devices(0, 2)] == ["L1", "L2"]
    state.bind("L1")
    assert errcode(lambda: state.del_device("L1")) == 600003
    assert errcode(lambda: state.list_devices(True, 2)) == 40058


def test_a_state_file_with_the_old_text_device_id_loads_as_int64(
    clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "emulator.json"
    EmulatorState(path, clock=clock, **_options()).add_device("M1", "OLD1")  # type: ignore[arg-type]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["devices"][0]["device_id"] = "emu0123456789abcdef01234567"
    path.write_text(json.dumps(data), encoding="utf-8")
    reloaded = EmulatorState(path, clock=clock, **_options())  # type: ignore[arg-type]
    device = reloaded.find("OLD1")
    assert device is not None and type(device.device_id) is int and device.device_id > 0
