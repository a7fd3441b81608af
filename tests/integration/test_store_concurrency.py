"""Two boards never share an SN: threads in one process and several processes on one file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from installer_app.secrets import Secret
from installer_app.store import DeviceRecord, HwIdConflict, Store
from installer_app.store.inventory import parse_inventory
from tests.fixtures.store import InventoryWriter, StoreFactory
from tests.fixtures.together import run_together

REPO = Path(__file__).resolve().parents[2]


def seed(store: Store, write_inventory: InventoryWriter, count: int) -> None:
    rows = [(f"INV{i:05d}", f"secret-{i:05d}", "WX-ATT-200", "") for i in range(count)]
    assert store.import_inventory(parse_inventory(write_inventory(rows)), installer="admin").ok


def test_eight_threads_take_distinct_credentials(
    store: Store, write_inventory: InventoryWriter
) -> None:
    seed(store, write_inventory, 5)
    barrier = threading.Barrier(8)

    def take(i: int) -> DeviceRecord | None:
        barrier.wait(timeout=30)
        return store.take_from_inventory(f"{i:016x}", model_id="WX-ATT-200", installer=f"t{i}")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(take, range(8)))
    taken = [r for r in results if r is not None]
    assert len(taken) == 5 and results.count(None) == 3
    assert len({r.sn for r in taken}) == 5
    assert len({r.hw_id for r in taken}) == 5
    assert store.inventory_stats().free == 0
    for record in taken:
        assert record.hw_id is not None
        again = store.record_for_hw_id(record.hw_id)
        assert again is not None and again.sn == record.sn


def test_one_board_asking_from_eight_threads_gets_one_credential(
    store: Store, write_inventory: InventoryWriter
) -> None:
    seed(store, write_inventory, 8)
    barrier = threading.Barrier(8)

    def take(_: int) -> DeviceRecord | None:
        barrier.wait(timeout=30)
        return store.take_from_inventory("abcdef01", model_id="WX-ATT-200", installer="li")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(take, range(8)))
    assert None not in results
    assert len({r.sn for r in results if r is not None}) == 1
    assert store.inventory_stats().free == 7


def test_racing_reservations_for_one_board_let_exactly_one_win(store: Store) -> None:
    barrier = threading.Barrier(8)

    def reserve(i: int) -> str:
        barrier.wait(timeout=30)
        try:
            store.reserve(
                f"RACE{i}",
                "feedface",
                Secret(f"secret-{i}"),
                source="register",
                model_id="M",
                installer="li",
            )
        except HwIdConflict:
            return "conflict"
        return "won"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(reserve, range(8)))
    assert outcomes.count("won") == 1 and outcomes.count("conflict") == 7


WORKER = r"""
import json, sys, time
from pathlib import Path
from installer_app.store import SecretCipher, Store

db, key, prefix, count, ready, go = sys.argv[1:7]
store = Store.open(Path(db), SecretCipher.from_key_file(Path(key)))
Path(ready).touch()
deadline = time.monotonic() + 60
while not Path(go).exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)
got = []
for i in range(int(count)):
    record = store.take_from_inventory(f"{prefix}{i:08x}", model_id="WX-ATT-200", installer=prefix)
    got.append([record.sn, record.hw_id] if record else None)
store.close()
print(json.dumps(got))
"""


def test_processes_racing_on_one_file_never_share_an_sn(
    store_factory: StoreFactory, write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    store = store_factory()
    seed(store, write_inventory, 40)
    go = tmp_path / "go"
    procs = []
    for n in range(3):
        args = [str(store.path), str(key_file), f"{n + 1:02x}", "20", str(tmp_path / f"r{n}")]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *args, str(go)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"r{n}").exists() for n in range(3)):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.extend(json.loads(out))
    taken = [r for r in results if r is not None]
    assert len(taken) == 40 and results.count(None) == 20  # 60 boards asked, 40 credentials
    assert len({sn for sn, _ in taken}) == 40
    assert len({hw for _, hw in taken}) == 40
    assert store.inventory_stats().free == 0
    for sn, hw in taken:
        record = store.record_for_sn(sn)
        assert record is not None and record.hw_id == hw
        assert [e.what for e in store.events_for(sn)] == ["imported", "reserved"]


def test_threads_share_one_store_for_reads_and_writes(store: Store) -> None:
    threads = 4

    def work(t: int) -> int:
        for i in range(25):
            sn = f"T{t}N{i}"
            store.reserve(
                sn,
                f"{t:04x}{i:04x}",
                Secret(f"secret-{t}-{i}"),
                source="register",
                model_id="M",
                installer="li",
            )
            store.advance(sn, "written", installer="li")
            assert store.secret_for(sn).reveal() == f"secret-{t}-{i}"
            store.history(sn)
        return t

    with ThreadPoolExecutor(threads) as pool:
        assert sorted(pool.map(work, range(threads))) == list(range(threads))
    assert len(store.history(limit=1000)) == threads * 25


def test_two_openers_of_a_new_file_both_get_it(tmp_path: Path) -> None:
    """Two sessions (two processes on a factory line, the wizard and a command) creating the
    store at the same moment: SQLite refuses one of the two WAL switches at once, without its
    busy handler; the store tries again instead of reporting the file as busy."""
    from installer_app.store.connection import connect

    failures: list[BaseException] = []
    for attempt in range(300):
        path = tmp_path / f"{attempt}" / "installer.db"
        results = run_together(2, lambda path=path: connect(path, busy_timeout_s=10.0).close())
        failures += [r for r in results if isinstance(r, BaseException)]
    assert failures == []
