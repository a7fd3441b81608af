"""``server import``: the provider admin's export file into the pool, SecretNos sealed.

The file is read by the laptop's parser (installer_app/store/inventory.py: CSV or .xlsx, English
or Chinese headers, rejected rows with their row numbers). An SN already in the pool is counted
as a duplicate and left as it is (its board, if any, keeps it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from installer_app.server.issuance import SEAL_KIND
from installer_app.server.sealing import Sealer
from installer_app.store.inventory import RejectedRow, parse_inventory


def import_inventory(
    conn: psycopg.Connection[Any], server_key: bytes, path: Path, model_id: str | None
) -> tuple[int, int, list[RejectedRow]]:
    parsed = parse_inventory(path, expected_model_id=model_id)
    sealer = Sealer(server_key)
    added = duplicates = 0
    rejected = list(parsed.rejected)
    with conn.transaction():
        for row in parsed.rows:
            model = row.model_id or model_id
            if not model:
                from installer_app.i18n import QT_TRANSLATE_NOOP, Message

                rejected.append(
                    RejectedRow(
                        row.row,
                        row.sn,
                        Message(
                            QT_TRANSLATE_NOOP(
                                "server", "no model_id in the row and no --model-id given"
                            )
                        ),
                    )
                )
                continue
            cur = conn.execute(
                "INSERT INTO credentials (device_sn, model_id, secret_sealed, qr_code, origin) "
                "VALUES (%s, %s, %s, %s, 'inventory') ON CONFLICT DO NOTHING",
                (row.sn, model, sealer.seal(SEAL_KIND, row.sn, row.secret_no), row.qr_code or ""),
            )
            if cur.rowcount:
                added += 1
            else:
                duplicates += 1
        conn.execute(
            "INSERT INTO audit (action, detail) VALUES ('import', %s)",
            (f"{path.name}: {added} added, {duplicates} duplicates",),
        )
    return added, duplicates, rejected
