"""The Dockerfile without Docker (no image can be built or pulled here): its COPY steps, its
`pip install` steps and its command, run as written in a fresh virtualenv, give a code server
that serves the project's code location from the installed package (not the repository).
What this does not check: the base image itself, `useradd` and file ownership in it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import ListRepositoriesResponse
from dagster._serdes import deserialize_value

from lake_assets_tests.conftest import REPO
from lake_assets_tests.test_ui_backfill import free_port

pytestmark = pytest.mark.install
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lake-assets:abc1234"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_image_is_slim_and_runs_as_a_user_of_its_own() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(word == "RUN" and "useradd" in args and users[-1] in args for word, args in steps)
    assert [word for word, _ in steps].index("USER") > max(
        i for i, (word, args) in enumerate(steps) if word == "RUN"
    ), "the install runs as root, the server as the user"


def test_the_image_steps_serve_the_code_location(tmp_path: Path) -> None:
    steps = instructions()
    app, home = tmp_path / "app", tmp_path / "home"
    app.mkdir()
    home.mkdir()
    for word, args in steps:
        if word == "COPY":
            *sources, target = shlex.split(args)
            for source in sources:
                destination = (
                    app / target / Path(source).name if target.endswith("/") else app / target
                )
                if (REPO / source).is_dir():
                    shutil.copytree(
                        REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(REPO / source, destination)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIP_NO_CACHE_DIR": "0",  # the image has no cache; here the machine's saves minutes
        "DAGSTER_HOME": str(home),
        "DAGSTER_CURRENT_IMAGE": IMAGE,
        "LAKE_ROOT": str(tmp_path / "lake"),
        **{
            k: v
            for k, v in os.environ.items()
            if k.startswith("PIP_INDEX") or k == "PIP_EXTRA_INDEX_URL"
        },
    }
    for word, args in steps:
        if word == "RUN" and args.startswith("pip install"):
            done = subprocess.run(
                args, shell=True, cwd=app, env=env, capture_output=True, text=True, timeout=1200
            )
            assert done.returncode == 0, done.stderr[-3000:]

    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import lake_assets; print(lake_assets.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert installed.startswith(str(venv)), installed
    # No pandas in the image: the project never uses it, and where it is installed pyarrow
    # imports it on the first pa.array() of every run (~35 MB and 0.2 s per run).
    pandas = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import pandas"], cwd=tmp_path, env=env
    )
    assert pandas.returncode != 0, "pandas is installed in the image"

    [command] = [json.loads(args) for word, args in steps if word == "CMD"]
    port = free_port()
    command = [str(port) if arg == "4266" else arg for arg in command]
    command = ["127.0.0.1" if arg == "0.0.0.0" else arg for arg in command]
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 120
        while True:
            try:
                client.ping("")
                break
            except Exception:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the code server did not come up"
                time.sleep(0.5)
        # a code location that failed to load answers with its error instead
        listed = deserialize_value(client.list_repositories())
        assert isinstance(listed, ListRepositoriesResponse), listed
        assert [s.repository_name for s in listed.repository_symbols] == ["__repository__"]
        assert listed.executable_path.startswith(str(venv))
        assert listed.container_image == IMAGE  # what the ECS run launcher starts runs from
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=120)  # past the code server's own 60 s grace for calls in flight
