"""What goes into a frozen build: the rules build.spec and the bare benchmark spec share.

PyInstaller's PySide6 hooks collect every plugin of every Qt module the app touches (all platform
plugins, the Wayland and EGL stacks, the virtual keyboard that drags in Qt Quick and QML, ...) and
every Qt translation. A bare window frozen that way is 160 MB. These rules keep only what the app
uses, listed explicitly, and drop the Qt libraries that nothing kept links to any more.

On Linux the PySide6 wheel ships ICU with its full data library (31 MB of collation, converters,
transliteration and display names for every locale). Qt uses ICU for collation and case mapping
only, so ``icu_data_subset`` rebuilds ``libicudata`` with the data for English and Chinese and the
locale-independent tables (5 MB). Windows and macOS builds of Qt use the system's ICU/APIs.

Pure functions over PyInstaller TOC tuples ``(dest_name, src_name, typecode)`` so that
tests/unit/test_build_spec.py can check them without building anything.
"""

from __future__ import annotations

import ast
import ctypes
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

TocEntry = tuple[str, str, str]

# PySide6 modules the app never imports (tests/unit/test_build_spec.py checks ui/ against this).
EXCLUDED_QT_MODULES = tuple(
    f"PySide6.{name}"
    for name in (
        "QtConcurrent",
        "QtDBus",
        "QtDesigner",
        "QtHelp",
        "QtLabsStyleKit",
        "QtNetwork",
        "QtOpenGL",
        "QtOpenGLWidgets",
        "QtPdf",
        "QtPdfWidgets",
        "QtPrintSupport",
        "QtQml",
        "QtQmlFeatures",
        "QtQuick",
        "QtQuick3D",
        "QtQuickControls2",
        "QtQuickTest",
        "QtQuickWidgets",
        "QtSql",
        "QtTest",
        "QtUiTools",
        "QtWebEngineCore",
        "QtWebEngineWidgets",
        "QtXml",
    )
)

# The team server (installer_app/server, ``installer-app serve``) and its libraries (the ``server``
# extra): they run on a server from a pip install, never in the desktop executable.
SERVER_MODULES = (
    "installer_app.server",
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "psycopg_binary",
    "psycopg_pool",
    "pydantic",
    "pydantic_core",
    "schemathesis",
    "jinja2",
)

# Standard-library and third-party modules a frozen installer never needs.
EXCLUDED_PY_MODULES = (
    "tkinter",
    "_tkinter",
    "turtle",
    "turtledemo",
    "idlelib",
    "lib2to3",
    "pydoc_data",
    "test",
    "unittest",
    "doctest",
    "pdb",
    "xmlrpc",
    "curses",
    "distutils",
    "setuptools",
    "pip",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "IPython",
    "numpy",
    "zxingcpp",
    # httpx's optional command-line client (httpx._main) and what it pulls in: 4.5 MB of pygments;
    # httpcore's async back ends (the app's HTTP is synchronous).
    "httpx._main",
    "click",
    "rich",
    "pygments",
    "anyio",
    "trio",
    # Only httpx's ASGI transport names asyncio (for typing, and inside a function the app never
    # calls); decimal's pure-Python twin is only a fallback for the C module.
    "asyncio",
    "_asyncio",
    "_pydecimal",
    # filelock's asyncio locks (no asyncio here) and its SQLite read-write locks: the store key's
    # creation lock (store/keys.py) is a plain FileLock.
    "filelock.asyncio",
    "filelock._async_lock",
    "filelock._sqlite",
    # Japanese, Korean and Traditional-Chinese codecs (the CJK one, GBK for a Chinese Windows
    # console, stays).
    "_codecs_jp",
    "_codecs_kr",
    "_codecs_tw",
    "_codecs_hk",
    "_codecs_iso2022",
)

# Secret Service support for keyring on Linux: SecretStorage needs ``cryptography``, whose Rust
# extension carries its own OpenSSL (11.6 MB, more than the rest of the app above a bare Qt window).
# Left out of builds unless asked for (build.spec: INSTALLER_SECRET_SERVICE=1 on Linux); Windows'
# and macOS' keyring back ends use ctypes and need none of it. cffi only serves these (PyCryptodome
# and pywin32-ctypes fall back to ctypes without it).
SECRET_SERVICE_MODULES = ("secretstorage", "cryptography", "cffi", "_cffi_backend")

# PyCryptodome's hook collects all 47 of its native libraries (8.5 MB: elliptic curves, post-quantum
# signatures, ...). The store only seals SecretNos with AES-GCM (installer_app/store/keys.py),
# which loads these; both the AES-NI/CLMUL and the portable variants stay, for CPUs without them.
# `--self-test` seals and opens a SecretNo in the frozen app: a missing one fails the build check.
PYCRYPTODOME_KEPT = (
    "_raw_aes",
    "_raw_aesni",
    "_raw_ecb",
    "_raw_ctr",
    "_ghash_portable",
    "_ghash_clmul",
    "_cpuid_c",
)

# Qt plugins kept, by plugin directory, as the plugin's short name (libqxcb.so, qxcb.dll and
# libqxcb.dylib are all "xcb"). Anything not listed is left out.
_PLATFORMS = {
    "linux": ("offscreen", "minimal", "xcb"),
    "win32": ("offscreen", "minimal", "windows"),
    "darwin": ("offscreen", "minimal", "cocoa"),
}
_COMMON_PLUGINS: dict[str, tuple[str, ...]] = {
    # PNG, the QR code's format, is built into QtGui; SVG icons and the window icon need these.
    "imageformats": ("svg", "ico", "icns"),
    "iconengines": ("svgicon",),
    # Windows 11/10 look (Qt >= 6.7); without it the wizard falls back to Fusion.
    "styles": ("modernwindowsstyle", "windowsvistastyle"),
    # Typing Chinese (IBus) and dead keys on Linux.
    "platforminputcontexts": (
        "composeplatforminputcontextplugin",
        "ibusplatforminputcontextplugin",
    ),
}


def _plugin_short_name(file_name: str) -> str:
    stem = file_name.split(".")[0]
    if stem.startswith("lib"):
        stem = stem[3:]
    if stem.startswith("q") and not stem.startswith(("compose", "ibus")):
        stem = stem[1:]
    return stem


def _platform_key(platform: str) -> str:
    return "linux" if platform.startswith("linux") else platform


def kept_plugins(platform: str = sys.platform) -> dict[str, tuple[str, ...]]:
    """Plugin directory -> short names kept on ``platform``."""
    keep = dict(_COMMON_PLUGINS)
    keep["platforms"] = _PLATFORMS[_platform_key(platform)]
    return keep


def qt_plugin_of(dest_name: str) -> tuple[str, str] | None:
    """``(plugin directory, short name)`` when ``dest_name`` is a Qt plugin, else None."""
    parts = PurePosixPath(dest_name.replace("\\", "/")).parts
    if "PySide6" not in parts:
        return None
    for i, part in enumerate(parts[:-2]):
        if part == "plugins":
            return parts[i + 1], _plugin_short_name(parts[-1])
    return None


def keep_binary_plugin(dest_name: str, platform: str = sys.platform) -> bool:
    """False for the Qt plugins the app does not use; True for everything else."""
    plugin = qt_plugin_of(dest_name)
    if plugin is None:
        return True
    folder, name = plugin
    return name in kept_plugins(platform).get(folder, ())


def missing_platform_plugins(
    binaries: Sequence[TocEntry], platform: str = sys.platform
) -> list[str]:
    """Kept platform plugins absent from ``binaries`` (a build without them cannot start)."""
    present = {qt_plugin_of(entry[0]) for entry in binaries}
    return [
        name for name in kept_plugins(platform)["platforms"] if ("platforms", name) not in present
    ]


# Qt's own translations: only qtbase (QWizard's Back/Next/Cancel, QMessageBox buttons) for the
# languages the app speaks.
APP_LANGUAGES = ("zh_CN", "en")
_QT_TRANSLATION = re.compile(r"^(?P<base>[a-z_]+?)_(?P<lang>[a-z]{2}(?:_[A-Z]{2})?)\.qm$")


def keep_data(dest_name: str) -> bool:
    """False for Qt translations of modules the app does not use; True for everything else."""
    parts = PurePosixPath(dest_name.replace("\\", "/")).parts
    if "PySide6" not in parts or "translations" not in parts:
        return True
    match = _QT_TRANSLATION.match(parts[-1])
    return bool(match and match["base"] == "qtbase" and match["lang"] in APP_LANGUAGES)


def _base_name(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).name.lower()


def prune_orphaned_libraries(
    collected: Sequence[TocEntry],
    kept: Sequence[TocEntry],
    imports_of: Callable[[str], Iterable[str]],
) -> list[TocEntry]:
    """``kept`` without the shared libraries only the dropped plugins needed.

    ``collected`` is what PyInstaller gathered, ``kept`` the same after dropping plugins.
    ``imports_of(src_path)`` gives the names a binary links against (PyInstaller's
    ``bindepend.get_imports``). A library stays when a kept binary links to it, directly or through
    other libraries; binaries nothing links to (Python itself, extension modules, kept plugins,
    libraries a hook added on purpose) are the roots and always stay. So the Wayland, EGL, GTK and
    Qt Quick libraries that came in with unused plugins leave with them.
    """
    by_name: dict[str, TocEntry] = {}
    for entry in collected:
        by_name.setdefault(_base_name(entry[0]), entry)
    links: dict[str, set[str]] = {}
    linked: set[str] = set()
    for entry in collected:
        targets = {_base_name(name) for name in imports_of(entry[1])} & by_name.keys()
        links[_base_name(entry[0])] = targets
        linked |= targets
    kept_names = {_base_name(entry[0]) for entry in kept}
    roots = [
        name
        for name in kept_names
        if name not in linked
        or qt_plugin_of(by_name[name][0]) is not None
        or by_name[name][2] == "EXTENSION"
    ]
    reached: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        pending.extend(links.get(name, ()) - reached)
    return [entry for entry in kept if _base_name(entry[0]) in reached]


def pyinstaller_imports_of(src_path: str) -> list[str]:
    from PyInstaller.depend import bindepend

    return [name for name, _path in bindepend.get_imports(src_path)]


# Windows: software OpenGL (20 MB) and the shader compiler serve Qt Quick / OpenGL, not widgets.
_DROPPED_FILES = ("opengl32sw.dll", "d3dcompiler_47.dll")


def package_version(root: Path) -> str:
    """``installer_app.__version__``, read without importing the package: the version is written
    once, in installer_app/__init__.py, and pyproject.toml reads it from there too."""
    tree = ast.parse((root / "installer_app" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__version__"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise ValueError("installer_app/__init__.py does not set __version__")


def keep_pycryptodome_library(dest_name: str) -> bool:
    """False for PyCryptodome's native libraries that AES-GCM does not load; True otherwise."""
    parts = PurePosixPath(dest_name.replace("\\", "/")).parts
    if len(parts) < 2 or parts[0] != "Crypto":
        return True
    return parts[-1].split(".")[0] in PYCRYPTODOME_KEPT


def filter_binaries(
    binaries: Sequence[TocEntry],
    platform: str = sys.platform,
    imports_of: Callable[[str], Iterable[str]] = pyinstaller_imports_of,
) -> list[TocEntry]:
    kept = [
        entry
        for entry in binaries
        if keep_binary_plugin(entry[0], platform)
        and keep_pycryptodome_library(entry[0])
        and _base_name(entry[0]) not in _DROPPED_FILES
    ]
    return prune_orphaned_libraries(binaries, kept, imports_of)


def filter_datas(datas: Sequence[TocEntry], binaries: Sequence[TocEntry] = ()) -> list[TocEntry]:
    """Drop unused Qt translations, and the symlinks PyInstaller made to libraries now dropped.

    (PyInstaller lists ``libQt6Network.so.6 -> PySide6/Qt/lib/libQt6Network.so.6`` as a SYMLINK
    entry; without its target it would dangle.)
    """
    shipped = {_norm(entry[0]) for entry in (*datas, *binaries) if entry[2] != "SYMLINK"}
    return [
        entry
        for entry in datas
        if keep_data(entry[0]) and (entry[2] != "SYMLINK" or _symlink_target(entry) in shipped)
    ]


def _norm(dest: str) -> str:
    return PurePosixPath(dest.replace("\\", "/")).as_posix()


def _symlink_target(entry: TocEntry) -> str:
    dest, target, _kind = entry
    joined = PurePosixPath(_norm(dest)).parent / _norm(target)
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


# --- libraries the host provides (Linux) ------------------------------------------------------

# The PySide6 wheel itself relies on the desktop's X11, fontconfig/freetype, GLib and D-Bus
# libraries, so the frozen app asks no more of the host than ``pip install PySide6`` does. Bundling
# them costs 9 MB and can break on newer hosts (a bundled fontconfig that cannot read the system's
# configuration leaves the wizard without CJK fonts). The xcb-util family (libxcb-cursor,
# -icccm, -keysyms, ...) and libxkbcommon stay bundled: many distributions do not install them.
HOST_LIBRARIES = (
    "libX11",
    "libX11-xcb",
    "libXau",
    "libXdmcp",
    "libfontconfig",
    "libfreetype",
    "libpng16",
    "libbrotlicommon",
    "libbrotlidec",
    "libexpat",
    "libglib-2.0",
    "libgthread-2.0",
    "libgobject-2.0",
    "libpcre2-8",
    "libdbus-1",
    "libsystemd",
    "libgcrypt",
    "libgpg-error",
    "liblz4",
    "liblzma",
    "libzstd",
    "libcap",
    "libbsd",
    "libmd",
    "libz",
    "libbz2",
    # The C++ runtime: the wheel's Qt takes it from the host (the manylinux policy allows it).
    "libstdc++",
    "libgcc_s",
)


def is_host_library(dest_name: str, platform: str = sys.platform) -> bool:
    """A top-level Linux system library listed in ``HOST_LIBRARIES``."""
    path = PurePosixPath(dest_name.replace("\\", "/"))
    if not platform.startswith("linux") or len(path.parts) != 1:
        return False
    return path.name.split(".so")[0] in HOST_LIBRARIES


def drop_host_libraries(
    binaries: Sequence[TocEntry], platform: str = sys.platform
) -> list[TocEntry]:
    return [entry for entry in binaries if not is_host_library(entry[0], platform)]


# --- ICU data subset (Linux) ---------------------------------------------------------------------

_LOCALE_ID = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*$")
ICU_LANGUAGES = ("en", "zh")
# Qt (6.x, Linux) asks ICU for collation (QCollator) and case mapping (QLocale::toUpper) only: its
# locale names, time zones (tzfile backend), text boundaries and IDNA are its own. So the display
# names (curr, unit, lang, region, zone), break rules, transliteration, spelled-out numbers, legacy
# codecs, time-zone tables, character names and stringprep profiles stay out.
_ICU_DROPPED_TREES = ("translit", "rbnf", "curr", "unit", "lang", "region", "zone", "brkitr")
_ICU_DROPPED_EXTENSIONS = ("cnv", "dict", "spp", "cfu")
_ICU_DROPPED_FILES = (
    "unames.icu",
    "uts46.nrm",
    "zoneinfo64.res",
    "metaZones.res",
    "windowsZones.res",
    "timezoneTypes.res",
    "langInfo.res",
)


def keep_icu_item(name: str) -> bool:
    """Whether the ICU data item ``icudt73l/coll/zh.res`` (say) stays in the subset."""
    parts = name.split("/")[1:]
    tree = parts[0] if len(parts) > 1 else ""
    stem, _, ext = parts[-1].rpartition(".")
    if tree in _ICU_DROPPED_TREES or ext in _ICU_DROPPED_EXTENSIONS:
        return False
    if not tree and parts[-1] in _ICU_DROPPED_FILES:
        return False
    if ext == "res" and stem not in ("root", "pool", "res_index") and _LOCALE_ID.match(stem):
        return stem.split("_")[0] in ICU_LANGUAGES
    return True


def parse_icu_package(blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split an ICU common-data package ("ToCP") into its header and ``(name, bytes)`` items."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, 0)
    if (magic1, magic2) != (0xDA, 0x27):
        raise ValueError("not an ICU data package")
    toc = header_size
    (count,) = struct.unpack_from("<I", blob, toc)
    offsets = struct.unpack_from(f"<{2 * count}I", blob, toc + 4)
    items = []
    for i in range(count):
        name_at, data_at = offsets[2 * i], offsets[2 * i + 1]
        end_name = blob.index(b"\0", toc + name_at)
        name = blob[toc + name_at : end_name].decode("ascii")
        data_end = offsets[2 * i + 3] if i + 1 < count else len(blob) - toc
        items.append((name, blob[toc + data_at : toc + data_end]))
    return blob[:header_size], items


def build_icu_package(header: bytes, items: Sequence[tuple[str, bytes]]) -> bytes:
    """The inverse of ``parse_icu_package``: TOC, names, then 16-byte aligned items."""
    items = sorted(items)  # ICU binary-searches the TOC by name
    names = b""
    name_offsets = []
    toc_size = 4 + 8 * len(items)
    for name, _data in items:
        name_offsets.append(toc_size + len(names))
        names += name.encode("ascii") + b"\0"
    body = bytearray()
    data_offsets = []
    start = toc_size + len(names)
    pad = (-(len(header) + start)) % 16
    start += pad
    for _name, data in items:
        data_offsets.append(start + len(body))
        body += data
        body += b"\0" * ((-len(body)) % 16)
    toc = struct.pack("<I", len(items))
    for name_at, data_at in zip(name_offsets, data_offsets, strict=True):
        toc += struct.pack("<II", name_at, data_at)
    return header + toc + names + b"\0" * pad + bytes(body)


def icu_data_subset(
    library: Path, out_dir: Path, keep: Callable[[str], bool] = keep_icu_item
) -> Path | None:
    """Rebuild ``library`` (libicudata.so.NN) holding only the items ``keep`` accepts.

    Returns the new library in ``out_dir`` (same file name and SONAME), or None when this is not
    possible here (no C compiler): the caller then ships the full library.
    """
    match = re.match(r"libicudata\.so\.(\d+)$", library.name)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if match is None or compiler is None or shutil.which("readelf") is None:
        print("freeze_rules: no C compiler or readelf here; shipping the full ICU data")
        return None
    symbol = f"icudt{match[1]}_dat"
    handle = ctypes.CDLL(str(library))
    address = ctypes.addressof(ctypes.c_char.in_dll(handle, symbol))
    header_size = struct.unpack("<H", ctypes.string_at(address, 2))[0]
    (count,) = struct.unpack("<I", ctypes.string_at(address + header_size, 4))
    # The package has no length field: its end is the end of the last item, which is the end of
    # the symbol; the data section holds nothing else, so read up to the end of the file mapping.
    size = _icu_symbol_size(library, symbol)
    blob = ctypes.string_at(address, size)
    header, items = parse_icu_package(blob)
    if len(items) != count:
        raise ValueError("ICU data package TOC mismatch")
    subset = build_icu_package(header, [(n, d) for n, d in items if keep(n)])
    out_dir.mkdir(parents=True, exist_ok=True)
    dat = out_dir / f"icudt{match[1]}l.dat"
    dat.write_bytes(subset)
    asm = out_dir / "icudata_subset.S"
    asm.write_text(
        "\t.section .rodata\n"
        f"\t.globl {symbol}\n"
        f"\t.type {symbol}, @object\n"
        "\t.balign 16\n"
        f"{symbol}:\n"
        f'\t.incbin "{dat.name}"\n'
        f"\t.size {symbol}, . - {symbol}\n"
        '\t.section .note.GNU-stack,"",@progbits\n',
        encoding="ascii",
    )
    out = out_dir / library.name
    subprocess.run(
        [compiler, "-shared", "-nostdlib", f"-Wl,-soname,{library.name}", "-o", str(out), asm.name],
        cwd=out_dir,
        check=True,
    )
    return out


def _icu_symbol_size(library: Path, symbol: str) -> int:
    """The symbol's size from the ELF dynamic symbol table (readelf is part of binutils)."""
    readelf = shutil.which("readelf")
    if readelf is None:
        raise FileNotFoundError("readelf")
    listing = subprocess.run(
        [readelf, "--wide", "--dyn-syms", str(library)], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if fields and fields[-1] == symbol:
            return int(fields[2], 0)
    raise ValueError(f"{symbol} not found in {library}")


def replace_icu_data(binaries: Sequence[TocEntry], work_dir: Path) -> list[TocEntry]:
    """Swap the full ICU data library for the subset (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return list(binaries)
    result = []
    for dest, src, kind in binaries:
        name = PurePosixPath(dest).name
        if name.startswith("libicudata.so."):
            subset = icu_data_subset(Path(src), work_dir / "icu")
            if subset is not None:
                print(
                    f"freeze_rules: ICU data subset {Path(src).stat().st_size} -> "
                    f"{subset.stat().st_size} bytes"
                )
                src = str(subset)
        result.append((dest, src, kind))
    return result


def windows_version_file(version: str, work_dir: Path) -> str:
    """A VERSIONINFO resource for the Windows executables (Explorer's Details tab, installers)."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:4]]
    numbers += [0] * (4 - len(numbers))
    quad = tuple(numbers)
    text = f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={quad}, prodvers={quad}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('080404B0', [
      StringStruct('CompanyName', 'installer-app'),
      StringStruct('FileDescription', 'installer-app: WeCom hardware provisioning'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', 'installer-app'),
      StringStruct('OriginalFilename', 'installer-app.exe'),
      StringStruct('ProductName', 'installer-app'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [2052, 1200, 1033, 1200])])
  ]
)
"""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "version_info.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)
