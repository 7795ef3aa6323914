"""The copies file is judged at load, without MySQL: each mistake names the file, the entry
and what is wrong; the code location loads with copies while the database is down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lake_assets.core.copies_file import CopiesConfigError, load_copies
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.project import Project
from lake_assets.settings import LakeSettings, SettingsError

GOOD = """
copies:
  - table: devices
    mode: full
  - table: device_events
    mode: daily
    date_column: event_time
    sort_by: [device_id, event_time]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "copies.yaml"
    path.write_text(text)
    return path


def test_a_good_file_gives_one_spec_per_entry(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    devices, events = load_copies(path)
    assert devices == TableSpec("devices", CopyMode.FULL, origin=f"{path}, entry 1 (devices)")
    assert events.daily and events.date_column == "event_time"
    assert events.sort_by == ("device_id", "event_time")
    assert events.asset_key.path == ["copies", "device_events"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("copies:\n  - table: [unclosed\n", r"not valid YAML at line \d"),
        ("tables:\n  - table: a\n", r"expected one key, `copies:`"),
        (
            "copies:\n  - table: a\n    mode: full\n    colour: red\n",
            r"entry 1 \(a\): unknown key\(s\) colour",
        ),
        (
            "copies:\n  - table: a\n    mode: hourly\n",
            r"entry 1 \(a\): `mode: hourly` is not one of",
        ),
        (
            "copies:\n  - table: a\n    mode: daily\n",
            r"entry 1 \(a\): a daily copy needs `date_column:`",
        ),
        (
            "copies:\n  - table: a\n    mode: full\n  - table: A\n    mode: full\n",
            r"entry 2 \(A\): table `A` is already copied by entry 1",
        ),
        (
            "copies:\n  - table: reports\n    mode: full\n",
            r"entry 1 \(reports\): `reports` clashes",
        ),
        ("copies:\n  - table: raw_reports\n    mode: full\n", r"clashes with a name the lake"),
        ("copies:\n  - table: date\n    mode: full\n", r"clashes with a name the lake"),
        (
            "copies:\n  - table: a\n    mode: daily\n    date_column: date\n",
            r"clashes with the lake's `date` partition column",
        ),
        ("copies:\n  - table: a\n    mode: full\n    date_column: t\n", r"for daily copies only"),
        ("copies:\n  - table: 'a; DROP TABLE x'\n    mode: full\n", r"must be a MySQL table name"),
        ("copies:\n  - devices\n", r"entry 1: must be a mapping"),
    ],
)
def test_a_malformed_file_names_file_entry_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CopiesConfigError, match=message) as e:
        load_copies(path)
    assert str(path) in str(e.value)


def test_lake_copies_names_the_file_else_copies_yaml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Project.from_env({}).copies == ()  # neither: no copies
    write(tmp_path, GOOD)
    assert [c.table for c in Project.from_env({}).copies] == ["devices", "device_events"]
    other = tmp_path / "other.yaml"
    other.write_text("copies:\n  - table: sites\n    mode: full\n")
    project = Project.from_env({"LAKE_COPIES": str(other)})
    assert [c.table for c in project.copies] == ["sites"]
    assert project.settings.copies_file == str(other)
    with pytest.raises(SettingsError, match=r"LAKE_COPIES='missing.yaml' is not a file"):
        Project.from_env({"LAKE_COPIES": "missing.yaml"})
    other.write_text("copies:\n  - table: sites\n")
    with pytest.raises(SettingsError, match=r"other.yaml, entry 1 \(sites\): `mode: None`"):
        Project.from_env({"LAKE_COPIES": str(other)})
    # the settings alone are the environment's: they name the file, they do not read it
    assert LakeSettings.from_env({"LAKE_COPIES": str(other)}).copies_file == str(other)


def test_the_code_location_loads_with_copies_while_mysql_is_down(tmp_path: Path) -> None:
    copies = write(tmp_path, GOOD)
    code = (
        "from lake_assets.definitions import defs\n"
        "keys = sorted(k.to_user_string() for k in defs.resolve_all_asset_keys())\n"
        "print(keys)\n"
        "print(sorted(j.name for j in defs.resolve_all_job_defs()))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "LAKE_COPIES": str(copies),
        "MYSQL_HOST": "127.0.0.1",
        "MYSQL_PORT": "1",  # nothing listens here
        "LAKE_ROOT": str(tmp_path / "lake"),
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "'copies/device_events'" in out.stdout and "'copies/devices'" in out.stdout
    assert "'full_copies_job'" in out.stdout
