"""Rendered pages of a label sheet and a site handover report, into docs/screenshots/.

Builds the test site (tests/fixtures/site.py: two installers, bound, failed and skipped boards)
in a temporary store, writes the PDFs exactly as ``installer-app labels`` and ``handover`` do,
and rasterises their pages with pypdfium2 (a test dependency):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/print_samples.py [--out docs/screenshots]

Chinese needs a CJK font (``fc-list :lang=zh``; Debian: ``apt-get install fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DPI = 110


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from installer_app import i18n
    from installer_app.handover.package import write_package
    from installer_app.handover.rows import collect
    from installer_app.labels.content import labels_for
    from installer_app.labels.layout import SheetGrid
    from installer_app.labels.pages import sheet_document
    from installer_app.launch import render_pdf
    from installer_app.store import SecretCipher, Store
    from tests.fixtures.site import CORP, open_site_store, pdf_images, seed_site

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cipher = SecretCipher.from_key_file(work / "store.key")
        store, clock = open_site_store(
            lambda **kw: Store.open(work / "installer.db", cipher, **kw)  # type: ignore[arg-type]
        )
        with store:
            seed_site(store, clock)
            for language in ("en", "zh_CN"):
                i18n.install_catalog_translator(language)
                labels = labels_for(store.records_for_corp(CORP)) * 4
                sheet = work / f"labels-{language}.pdf"
                render_pdf(sheet_document(labels, SheetGrid(cols=3, rows=8)), sheet)
                pdf_images(sheet, DPI)[0].save(args.out / f"labels-sheet-{language}.png")
                package = write_package(collect(store, CORP, zone=UTC), work / language, render_pdf)
                for number, page in enumerate(pdf_images(package.pdf, DPI), start=1):
                    page.save(args.out / f"handover-{language}-{number}.png")
    for name in sorted(
        p.name for p in args.out.glob("*.png") if "handover" in p.name or "labels" in p.name
    ):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
