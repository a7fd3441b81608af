"""The packaging rules (tools/freeze_rules.py) and build.spec's explicit lists, without building."""

from __future__ import annotations

import ast
import fnmatch
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import freeze_rules as rules  # noqa: E402

QT = "PySide6/Qt"


def test_only_the_listed_platform_plugins_are_kept() -> None:
    keep = rules.keep_binary_plugin
    assert keep(f"{QT}/plugins/platforms/libqxcb.so", "linux")
    assert keep(f"{QT}/plugins/platforms/libqoffscreen.so", "linux")
    assert not keep(f"{QT}/plugins/platforms/libqwayland.so", "linux")
    assert not keep(f"{QT}/plugins/platforms/libqeglfs.so", "linux")
    assert keep("PySide6\\plugins\\platforms\\qwindows.dll", "win32")
    assert not keep("PySide6\\plugins\\platforms\\qdirect2d.dll", "win32")
    assert keep("PySide6/Qt/plugins/platforms/libqcocoa.dylib", "darwin")
    assert not keep(f"{QT}/plugins/platforms/libqxcb.so", "darwin")


def test_unused_plugin_families_are_dropped_and_other_binaries_kept() -> None:
    keep = rules.keep_binary_plugin
    assert keep(f"{QT}/plugins/imageformats/libqsvg.so", "linux")
    assert keep(f"{QT}/plugins/iconengines/libqsvgicon.so", "linux")
    assert not keep(f"{QT}/plugins/imageformats/libqpdf.so", "linux")
    assert not keep(f"{QT}/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", "linux")
    assert not keep(f"{QT}/plugins/qmltooling/libqmldbg_tcp.so", "linux")
    assert not keep(f"{QT}/plugins/platformthemes/libqgtk3.so", "linux")
    assert keep("PySide6\\plugins\\styles\\qmodernwindowsstyle.dll", "win32")
    assert keep(f"{QT}/lib/libQt6Core.so.6", "linux")  # not a plugin
    assert keep("libpython3.11.so.1.0", "linux")


def test_only_qtbase_translations_of_the_app_languages_are_kept() -> None:
    assert rules.keep_data(f"{QT}/translations/qtbase_zh_CN.qm")
    assert not rules.keep_data(f"{QT}/translations/qtbase_de.qm")
    assert not rules.keep_data(f"{QT}/translations/qtdeclarative_zh_CN.qm")
    assert not rules.keep_data(f"{QT}/translations/qt_help_zh_CN.qm")
    assert rules.keep_data("resources/i18n/installer_app_zh_CN.qm")


def test_libraries_only_dropped_plugins_needed_leave_with_them() -> None:
    collected = [
        ("PySide6/QtWidgets.abi3.so", "/s/QtWidgets.abi3.so", "EXTENSION"),
        (f"{QT}/lib/libQt6Widgets.so.6", "/s/libQt6Widgets.so.6", "BINARY"),
        (f"{QT}/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        (f"{QT}/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        (f"{QT}/lib/libQt6XcbQpa.so.6", "/s/libQt6XcbQpa.so.6", "BINARY"),
        (f"{QT}/plugins/platforms/libqwayland.so", "/s/libqwayland.so", "BINARY"),
        (f"{QT}/lib/libQt6WaylandClient.so.6", "/s/libQt6WaylandClient.so.6", "BINARY"),
        ("libwayland-client.so.0", "/usr/lib/libwayland-client.so.0", "BINARY"),
        ("libpython3.11.so.1.0", "/py/libpython3.11.so.1.0", "BINARY"),
    ]
    links = {
        "/s/QtWidgets.abi3.so": ["libQt6Widgets.so.6", "libQt6Core.so.6", "libc.so.6"],
        "/s/libQt6Widgets.so.6": ["libQt6Core.so.6"],
        "/s/libqxcb.so": ["libQt6XcbQpa.so.6", "libQt6Core.so.6"],
        "/s/libqwayland.so": ["libQt6WaylandClient.so.6"],
        "/s/libQt6WaylandClient.so.6": ["libwayland-client.so.0", "libQt6Core.so.6"],
    }
    kept = [e for e in collected if rules.keep_binary_plugin(e[0], "linux")]
    result = rules.prune_orphaned_libraries(collected, kept, lambda src: links.get(src, []))
    names = [Path(dest).name for dest, _src, _kind in result]
    assert names == [
        "QtWidgets.abi3.so",
        "libQt6Widgets.so.6",
        "libQt6Core.so.6",
        "libqxcb.so",
        "libQt6XcbQpa.so.6",
        "libpython3.11.so.1.0",  # nothing links to it: a root, kept
    ]


def test_symlinks_to_dropped_libraries_are_dropped() -> None:
    binaries = [(f"{QT}/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY")]
    datas = [
        ("libQt6Core.so.6", f"{QT}/lib/libQt6Core.so.6", "SYMLINK"),
        ("libQt6Quick.so.6", f"{QT}/lib/libQt6Quick.so.6", "SYMLINK"),
        ("resources/icons/app.svg", "/r/app.svg", "DATA"),
    ]
    kept = rules.filter_datas(datas, binaries)
    assert [dest for dest, _src, _kind in kept] == ["libQt6Core.so.6", "resources/icons/app.svg"]


def test_host_libraries_are_left_to_the_host_on_linux_only() -> None:
    assert rules.is_host_library("libfontconfig.so.1", "linux")
    assert rules.is_host_library("libstdc++.so.6", "linux")
    assert not rules.is_host_library("libxcb-cursor.so.0", "linux")  # often not installed
    assert not rules.is_host_library("libcrypto.so.3", "linux")
    assert not rules.is_host_library(f"{QT}/lib/libfontconfig.so.1", "linux")
    assert not rules.is_host_library("libfontconfig.so.1", "darwin")


def test_icu_subset_keeps_english_chinese_and_the_shared_tables() -> None:
    keep = rules.keep_icu_item
    for name in (
        "icudt73l/coll/zh.res",
        "icudt73l/coll/root.res",
        "icudt73l/coll/ucadata.icu",
        "icudt73l/zh_Hans_CN.res",
        "icudt73l/en_GB.res",
        "icudt73l/root.res",
        "icudt73l/res_index.res",
        "icudt73l/uprops.icu",
        "icudt73l/nfc.nrm",
        "icudt73l/likelySubtags.res",
    ):
        assert keep(name), name
    for name in (
        "icudt73l/coll/fr.res",
        "icudt73l/de.res",
        "icudt73l/translit/root.res",
        "icudt73l/gb18030.cnv",
        "icudt73l/brkitr/cjdict.dict",
        "icudt73l/curr/zh.res",
        "icudt73l/zoneinfo64.res",
    ):
        assert not keep(name), name


def test_icu_package_round_trip_keeps_items_aligned() -> None:
    header = struct.pack("<HBB", 32, 0xDA, 0x27) + b"\0" * 28
    items = [("icudt73l/b.res", b"BBBB" * 5), ("icudt73l/a.icu", b"A" * 3)]
    blob = rules.build_icu_package(header, items)
    parsed_header, parsed = rules.parse_icu_package(blob)
    assert parsed_header == header
    assert [name for name, _ in parsed] == ["icudt73l/a.icu", "icudt73l/b.res"]  # sorted TOC
    assert parsed[0][1].startswith(b"A" * 3)
    assert parsed[1][1].startswith(b"BBBB" * 5)
    count = struct.unpack_from("<I", blob, len(header))[0]
    offsets = struct.unpack_from(f"<{2 * count}I", blob, len(header) + 4)
    assert all((len(header) + offsets[2 * i + 1]) % 16 == 0 for i in range(count))


def test_icu_package_parser_refuses_other_data() -> None:
    with pytest.raises(ValueError):
        rules.parse_icu_package(b"\x20\x00\x00\x00" + b"\0" * 60)


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_app_imports_nothing_the_build_leaves_out() -> None:
    excluded = (
        *rules.EXCLUDED_QT_MODULES,
        *rules.SECRET_SERVICE_MODULES,
        "PIL",
        "qrcode.image.pil",
        "pygments",
        "anyio",
    )
    used = {**_imports(ROOT / "installer_app"), **_imports(ROOT / "ui")}
    offenders = {
        name: sorted(where)
        for name, where in used.items()
        if any(name == ex or name.startswith(ex + ".") for ex in excluded)
    }
    assert offenders == {}


def _spec_constant(name: str) -> object:
    tree = ast.parse((ROOT / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in build.spec")


def test_every_resource_file_is_listed_in_the_spec() -> None:
    patterns = _spec_constant("RESOURCE_PATTERNS")
    assert isinstance(patterns, tuple)
    resources = ROOT / "resources"
    unlisted = [
        str(path.relative_to(resources))
        for path in resources.rglob("*")
        if path.is_file()
        and path.suffix not in (".py", ".pyc")
        and "__pycache__" not in path.parts
        and not any(fnmatch.fnmatch(path.relative_to(resources).as_posix(), p) for p in patterns)
    ]
    assert unlisted == []


def test_pycryptodome_keeps_only_what_aes_gcm_loads() -> None:
    binaries = [
        ("Crypto/Cipher/_raw_aes.abi3.so", "/x/_raw_aes.abi3.so", "BINARY"),
        ("Crypto\\Cipher\\_raw_aesni.pyd", "C:/x/_raw_aesni.pyd", "BINARY"),
        ("Crypto/Hash/_ghash_portable.abi3.so", "/x/_ghash_portable.abi3.so", "BINARY"),
        ("Crypto/PublicKey/_ec_nat.abi3.so", "/x/_ec_nat.abi3.so", "BINARY"),
        ("Crypto/Signature/_mldsa.abi3.so", "/x/_mldsa.abi3.so", "BINARY"),
        ("libsqlite3.so.0", "/usr/lib/libsqlite3.so.0", "BINARY"),
    ]
    kept = [dest for dest, _src, _kind in rules.filter_binaries(binaries, "linux", lambda _: ())]
    assert kept == [
        "Crypto/Cipher/_raw_aes.abi3.so",
        "Crypto\\Cipher\\_raw_aesni.pyd",
        "Crypto/Hash/_ghash_portable.abi3.so",
        "libsqlite3.so.0",
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_store_cipher_loads_only_the_kept_pycryptodome_libraries() -> None:
    """Seal and open a SecretNo in a fresh interpreter without cffi, as the frozen app does, and
    compare the PyCryptodome libraries it mapped with the kept list."""
    code = (
        "import sys; sys.modules['cffi'] = None\n"
        "from installer_app.store.keys import SecretCipher\n"
        "from installer_app.secrets import Secret\n"
        "c = SecretCipher.generate()\n"
        "assert c.decrypt('SN1', c.encrypt('SN1', Secret('v'))).reveal() == 'v'\n"
        "import Crypto, os\n"
        "root = os.path.dirname(Crypto.__file__)\n"
        "maps = open('/proc/self/maps').read().split()\n"
        "print(sorted({os.path.basename(p).split('.')[0] for p in maps if p.startswith(root)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = ast.literal_eval(done.stdout.strip())
    assert loaded and set(loaded) <= set(rules.PYCRYPTODOME_KEPT)


def test_the_version_is_written_once_and_read_by_packaging_and_build() -> None:
    import tomllib

    import installer_app

    assert rules.package_version(ROOT) == installer_app.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "installer_app.__version__"
    }
