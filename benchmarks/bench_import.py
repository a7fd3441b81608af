"""Time and peak memory of an inventory import, for files at and past the bounds.

Each case runs ``parse_inventory`` in a fresh child process and reports its wall time and the
child's peak resident memory (``ru_maxrss``), less the same process's peak after the imports
(Python, openpyxl) alone. The files are generated in a temporary folder:

- ``csv-50mb-100k``: a 50 MB CSV of 100,000 rows (a wide notes column): imported whole.
- ``csv-50mb-1m``: a 50 MB CSV of 850,000 short rows: refused at the row limit.
- ``xlsx-100k``: an .xlsx of 100,000 rows written by openpyxl: imported whole.
- ``xlsx-300k``: an .xlsx of 300,000 rows (shared strings, no ``<dimension>``): refused at the
  row limit.
- ``xlsx-2m``: the same with 2 million rows, about 0.3 MB zipped like the issue's file: refused
  by its unpacked size before any row is read.

    .venv/bin/python benchmarks/bench_import.py [--keep DIR]

Targets: every case under 10 s and under 200 MB above the baseline (before: 820 MB for the 50 MB
CSV, 1.28 GB and 107 s for the 2-million-row .xlsx).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from installer_app.store.inventory import InventoryFileError, parse_inventory
import openpyxl  # noqa: F401 - counted in the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    parsed = parse_inventory(sys.argv[1])
    outcome = f"{len(parsed.rows)} rows, {len(parsed.rejected)} rejected"
except InventoryFileError as exc:
    outcome = "refused: " + exc.message.english().split(": ", 1)[1]
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": elapsed, "peak_kb": peak, "base_kb": base, "outcome": outcome}))
"""


def write_csv(path: Path, rows: int, notes: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("device_sn,secret_no,model_id,notes\r\n")
        pad = "n" * notes
        for i in range(rows):
            fh.write(f"WXA{i:09d},{i:032x},WX-ATT-200,{pad}\r\n")


def write_xlsx_openpyxl(path: Path, rows: int) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["device_sn", "secret_no", "model_id"])
    for i in range(rows):
        sheet.append([f"WXA{i:09d}", f"{i:032x}", "WX-ATT-200"])
    workbook.save(path)


_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    ),
    "xl/sharedStrings.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="4" uniqueCount="4"><si><t>device_sn</t></si>'
        "<si><t>secret_no</t></si><si><t>SN1</t></si><si><t>s</t></si></sst>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    ),
}


def write_xlsx_by_hand(path: Path, rows: int) -> None:
    """A minimal workbook, the same row again and again: it zips to almost nothing."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = b'<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
            row = b'<row><c t="s"><v>2</v></c><c t="s"><v>3</v></c></row>'
            sheet.write(header)
            for _ in range(rows // 10_000):
                sheet.write(row * 10_000)
            sheet.write(b"</sheetData></worksheet>")


def measure(path: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = {
            "csv-50mb-100k": (folder / "wide.csv", lambda p: write_csv(p, 100_000, 440)),
            "csv-50mb-1m": (folder / "long.csv", lambda p: write_csv(p, 850_000, 0)),
            "xlsx-100k": (folder / "rows.xlsx", lambda p: write_xlsx_openpyxl(p, 100_000)),
            "xlsx-300k": (folder / "long.xlsx", lambda p: write_xlsx_by_hand(p, 300_000)),
            "xlsx-2m": (folder / "huge.xlsx", lambda p: write_xlsx_by_hand(p, 2_000_000)),
        }
        for name, (path, make) in cases.items():
            start = time.perf_counter()
            make(path)
            made = time.perf_counter() - start
            f = measure(path)
            peak, base = int(f["peak_kb"]) / 1024, int(f["base_kb"]) / 1024  # type: ignore[call-overload]
            print(
                f"{name:14} {path.stat().st_size / 1e6:7.1f} MB file (made in {made:4.1f} s): "
                f"{f['s']:6.2f} s, peak RSS {peak:6.1f} MB ({peak - base:+6.1f} MB over the "
                f"{base:.0f} MB baseline) — {f['outcome']}",
                flush=True,
            )
    print(f"(own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
