"""Broken settings never break more than they must: importing the package reads no setting, so
`lake-assets --help` works; `doctor` lists every bad setting at once, a sentence each; other
commands and the code location print the same sentences and fail, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lake_assets_tests.conftest import REPO

BIN = Path(sys.executable).parent


def broken_env(tmp_path: Path) -> dict[str, str]:
    copies = tmp_path / "copies.yaml"
    copies.write_text("copies:\n  - table: a\n    mode: hourly\n")
    return {
        **os.environ,
        "MYSQL_PORT": "abc",
        "LAKE_TABLE_FORMAT": "delta",
        "LAKE_COPIES": str(copies),
        "LAKE_START_DATE": "2021-13-01",
    }


SENTENCES = [
    "MYSQL_PORT='abc' must be a whole number ≥ 1",
    "LAKE_TABLE_FORMAT='delta': set it to one of hive, iceberg",
    "LAKE_START_DATE='2021-13-01' is not a date",
    "hourly",  # the copies file's entry, by its own sentence (core/copies_file.py)
]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_help_works_with_every_setting_broken(tmp_path: Path) -> None:
    proc = run([str(BIN / "lake-assets"), "--help"], broken_env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "doctor" in proc.stdout


def test_doctor_lists_every_bad_setting_at_once(tmp_path: Path) -> None:
    proc = run([str(BIN / "lake-assets"), "doctor"], broken_env(tmp_path), tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FAIL  settings: ")]
    assert len(lines) == len(SENTENCES)
    for sentence in SENTENCES:
        assert sum(sentence in line for line in lines) == 1, sentence


def test_other_commands_print_the_same_sentences_and_fail(tmp_path: Path) -> None:
    proc = run([str(BIN / "lake-assets"), "query", "SELECT 1"], broken_env(tmp_path), tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    for sentence in SENTENCES:
        assert sentence in proc.stderr


def test_the_code_location_reports_the_same_sentences(tmp_path: Path) -> None:
    proc = run([sys.executable, "-c", "import lake_assets.definitions"], broken_env(tmp_path), REPO)
    assert proc.returncode != 0
    for sentence in SENTENCES:
        assert sentence in proc.stderr


SPY = """
import os, sys
import dotenv, yaml

def refuse(*args, **kwargs):
    raise SystemExit("read a settings file at import")

dotenv.load_dotenv = refuse
yaml.safe_load = yaml.load = refuse

class Spy(type(os.environ)):
    def __getitem__(self, key):
        if key.startswith(("LAKE_", "MYSQL_", "GLUE_", "ATHENA_")):
            reader = sys._getframe(1)
            while reader.f_code.co_filename.endswith(("os.py", "_collections_abc.py")):
                reader = reader.f_back  # Mapping.get, items(): who called them
            if "/lake_assets/" in reader.f_code.co_filename:
                raise SystemExit(f"{reader.f_code.co_filename} read {key} at import")
        return super().__getitem__(key)

os.environ = Spy(os.environ._data, os.environ.encodekey, os.environ.decodekey,
                 os.environ.encodevalue, os.environ.decodevalue)
for module in sys.argv[1:]:
    __import__(module)
print("clean")
"""


def test_importing_the_package_reads_no_setting_and_no_file(tmp_path: Path) -> None:
    """Everything below definitions.py and cli.py takes its settings as arguments: importing
    it (the CLI's modules included) reads no variable of ours, no .env and no YAML."""
    modules = [
        "lake_assets.lake.zones",
        "lake_assets.core.days",
        "lake_assets.defs.policies",
        "lake_assets.defs.reports",
        "lake_assets.defs.maintenance",
        "lake_assets.defs.reports.checks",
        "lake_assets.defs.copies.assets",
        "lake_assets.defs.automation.jobs",
        "lake_assets.defs.automation.schedules",
        "lake_assets.defs.automation.late_data",
        "lake_assets.defs.automation.freshness",
        "lake_assets.defs.automation.alerts",
        "lake_assets.cli",
    ]
    proc = run([sys.executable, "-c", SPY, *modules], broken_env(tmp_path), tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "clean", proc.stderr[-3000:]
    # and the spy does catch a read: the code location reads its settings at import
    caught = run([sys.executable, "-c", SPY, "lake_assets.definitions"], os.environ, REPO)
    assert caught.returncode != 0


def test_only_the_top_reads_the_settings() -> None:
    """Only definitions.py and cli.py turn the configuration into values (through project.py,
    on settings.py); every other module is given them (a sensor that read them at tick time
    would disagree with its code location)."""
    package = REPO / "lake_assets"
    readers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(call in path.read_text() for call in ("from_env(", "current_project("))
    )
    assert readers == ["cli.py", "definitions.py", "project.py", "settings.py"]
