"""The peer's own virtualenv, `.venv-peer`: pandas and pymysql, with the project's own pyarrow
and numpy versions.

The project does not depend on pandas, and must not carry it: where pandas is installed,
pyarrow imports it on the first `pa.array()` of every run (~35 MB and 0.2 s a run). The flow
the project replaces needs it, so that flow runs from an environment of its own, as it did in
production. Made once (about a minute), and again when the versions change.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

PEER_VENV = Path(__file__).resolve().parents[1] / ".venv-peer"


def peer_requirements() -> list[str]:
    return [
        "pandas>=2.2",
        "pymysql>=1.1",
        f"pyarrow=={version('pyarrow')}",
        f"numpy=={version('numpy')}",
    ]


def peer_python() -> Path:
    """The peer venv's interpreter, made or brought up to date first."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "requirements.txt"
    wanted = "\n".join(peer_requirements()) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"making the peer's virtualenv {PEER_VENV} …", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *peer_requirements()], check=True)
    stamp.write_text(wanted)
    return python
