"""replace_atomically: the old file or the whole new one, never half, never a stray temporary."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from installer_app.atomic_write import SHARED, replace_atomically


def test_replaces_the_file_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("old", encoding="utf-8")
    with replace_atomically(path, mode=SHARED) as out:
        out.write("new")
        assert path.read_text(encoding="utf-8") == "old"  # readers see the old one meanwhile
    assert path.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replace_atomically(path) as out:
        out.write("half")
        raise RuntimeError("crash mid-write")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_owner_only_by_default(tmp_path: Path) -> None:
    path = tmp_path / "flash.json"
    with replace_atomically(path) as out:
        out.write("{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
