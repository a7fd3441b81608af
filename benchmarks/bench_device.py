"""How much time DeviceClient adds over bare pyserial, per command.

Runs a simulated board on a pty at a fixed device latency, then times N rounds of HELLO, WRITE,
VERIFY, COMMIT and STATUS twice: through ``DeviceClient`` and through a minimal script that
writes the same precomputed frames with bare pyserial and reads until each full response
(skipping the board's log lines, as any script must). The
two alternate in blocks, so a machine that gets busier part-way hurts both alike. Prints the
median per command, the totals and the ratio client/bare (target: at most 1.15).

    .venv/bin/python benchmarks/bench_device.py [--rounds 200] [--latency 0.005]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import serial

from installer_app.device.client import DeviceClient
from installer_app.device.codec import encode_frame, encode_tlv
from installer_app.device.protocol import HEADER_LEN, Command, Tag
from installer_app.secrets import Secret
from installer_app.simulator.config import SimulatorConfig
from installer_app.simulator.server import PtySimulator

SN = "WXA2000012345"
SECRET_NO = "8f14e45fceea167a5a36dedd4bea2543"
NONCE = bytes(range(16))
COMMANDS = ("HELLO", "WRITE", "VERIFY", "COMMIT", "STATUS")

Timings = dict[str, list[float]]


def client_round(client: DeviceClient, secret: Secret) -> list[Callable[[], object]]:
    return [
        client.hello,
        lambda: client.write(SN, secret),
        lambda: client.verify(NONCE),
        client.commit,
        client.status,
    ]


def run_client(url: str, rounds: int, timings: Timings) -> None:
    secret = Secret(SECRET_NO)
    with DeviceClient.open(url) as client:
        steps = client_round(client, secret)
        for _ in range(rounds):
            for name, step in zip(COMMANDS, steps, strict=True):
                started = time.perf_counter()
                step()
                timings[name].append(time.perf_counter() - started)


def bare_frames(seq: int) -> list[bytes]:
    """The bytes the client sends for one round, starting at ``seq``."""
    payloads = [
        (Command.HELLO, b""),
        (Command.WRITE, encode_tlv([(Tag.SN, SN.encode()), (Tag.SECRET_NO, SECRET_NO.encode())])),
        (Command.VERIFY, encode_tlv([(Tag.NONCE, NONCE)])),
        (Command.COMMIT, b""),
        (Command.STATUS, b""),
    ]
    frames = []
    for command, payload in payloads:
        frames.append(encode_frame(command, seq, payload))
        seq = 1 if seq == 255 else seq + 1
    return frames


def read_response(port: serial.Serial, buf: bytearray, frame_type: int, seq: int) -> bytes:
    """Read until the response to (``frame_type``, ``seq``) is complete, skipping the board's log
    lines and events the way any minimal script must (no CRC check: the least work possible)."""
    want = bytes((0xA5, 0x5A, 0x01, frame_type | 0x80, seq))
    while True:
        start = buf.find(want)
        if start >= 0 and len(buf) >= start + HEADER_LEN:
            end = start + HEADER_LEN + int.from_bytes(buf[start + 5 : start + 7], "little") + 2
            if len(buf) >= end:
                frame = bytes(buf[start:end])
                del buf[:end]
                return frame
        chunk = port.read(port.in_waiting or 1)
        if not chunk:
            raise RuntimeError("bare pyserial: no answer")
        buf += chunk


def run_bare(url: str, rounds: int, timings: Timings, first_seq: int) -> None:
    precomputed = [bare_frames(((first_seq - 1 + 5 * r) % 255) + 1) for r in range(rounds)]
    with serial.Serial(url, 115200, timeout=2.0) as port:
        buf = bytearray()
        for frames in precomputed:
            for name, frame in zip(COMMANDS, frames, strict=True):
                started = time.perf_counter()
                port.write(frame)
                read_response(port, buf, frame[3], frame[4])
                timings[name].append(time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds per side (default 200)")
    parser.add_argument("--blocks", type=int, default=4, help="alternating blocks (default 4)")
    parser.add_argument("--latency", type=float, default=0.005, help="device latency, s")
    args = parser.parse_args(argv)

    config = SimulatorConfig(latency_s=args.latency, commit_latency_s=args.latency, wifi=False)
    client_t: Timings = {name: [] for name in COMMANDS}
    bare_t: Timings = {name: [] for name in COMMANDS}
    per_block = max(1, args.rounds // args.blocks)
    with PtySimulator(config) as sim:
        url = sim.start()
        run_client(url, 3, {name: [] for name in COMMANDS})  # warm-up; provisions the board
        for block in range(args.blocks):
            run_client(url, per_block, client_t)
            run_bare(url, per_block, bare_t, first_seq=1 + (block * 37) % 200)

    print(f"device latency {args.latency * 1000:.1f} ms, {per_block * args.blocks} rounds each")
    print(f"{'command':<8} {'client ms':>10} {'bare ms':>10} {'ratio':>7}   (medians)")
    for name in COMMANDS:
        c, b = statistics.median(client_t[name]), statistics.median(bare_t[name])
        print(f"{name:<8} {c * 1000:>10.3f} {b * 1000:>10.3f} {c / b:>7.3f}")
    total_c = sum(sum(v) for v in client_t.values())
    total_b = sum(sum(v) for v in bare_t.values())
    ratio = total_c / total_b
    print(f"{'total':<8} {total_c:>9.3f}s {total_b:>9.3f}s {ratio:>7.3f}")
    verdict = "OK" if ratio <= 1.15 else "OVER TARGET"
    print(f"ratio client/bare = {ratio:.3f} (target <= 1.15): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
