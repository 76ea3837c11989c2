"""The cluster's processes: Onramp instances started from deploy/Procfile's lines, and HAProxy
running deploy/haproxy.cfg, each a child of the test in a process group of its own."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"


def procfile_command(process: str) -> list[str]:
    """A process type's command line in deploy/Procfile, with the virtualenv's executables."""
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if not line.startswith("#") and name.strip() == process:
            program, *args = shlex.split(command)
            return [str(BIN / program), *args]
    raise LookupError(f"deploy/Procfile has no {process!r} line")


def run_release(env: Mapping[str, str]) -> None:
    """The deploy step (the Procfile's ``release``): migrations, as the tables' owner."""
    done = subprocess.run(
        procfile_command("release"), cwd=ROOT, env=dict(env), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def wait_until_answering(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class Instance:
    """One Onramp instance: gunicorn's master, its web workers and its delivery worker."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    killed_at: float | None = None
    pids_at_kill: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: Mapping[str, str]) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                procfile_command("web"),
                cwd=ROOT,
                env={**env, "HOST": "127.0.0.1", "PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: killing it takes the master and all its children.
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        wait_until_answering(f"{self.url}/readyz")

    def owns(self, pid: int) -> bool:
        """Whether process ``pid`` is one of this instance's (its delivery worker, say)."""
        assert self.process is not None
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return self.killed_at is not None and pid in self.pids_at_kill
        except PermissionError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole instance at once: no clean-up, no goodbye, like a lost machine."""
        assert self.process is not None
        self.pids_at_kill = _group_members(self.process.pid)
        os.killpg(self.process.pid, signal.SIGKILL)
        self.killed_at = time.monotonic()
        self.process.wait(10)
        # The kernel takes each process down in its own time; until then its sockets are open.
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in self.pids_at_kill):
            assert time.monotonic() < deadline, "the killed instance's processes linger"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.process is None or self.killed_at is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        except ProcessLookupError:
            pass

    def control_socket(self) -> str | None:
        """Where gunicorn said it listens for ``gunicornc``."""
        for line in self.log.read_text(errors="replace").splitlines():
            if "Control socket listening at " in line:
                return line.split("Control socket listening at ", 1)[1].strip()
        return None

    def request_ids(self) -> set[str]:
        """The request ids of every request this instance answered (its access log)."""
        ids = set()
        for line in self.log.read_text(errors="replace").splitlines():
            if '"request_id"' in line and '"status"' in line:
                try:
                    ids.add(str(json.loads(line)["request_id"]))
                except (ValueError, KeyError):
                    continue
        return ids


def _alive(pid: int) -> bool:
    """Whether any thread of ``pid`` still runs. A process's files (its sockets) close when
    its last thread is gone: its main thread may be a zombie while others still exit."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in {"Z", "X"}:
            return True
    return False


def _group_members(pgid: int) -> set[int]:
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    members.add(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return members


@dataclass
class LoadBalancer:
    """HAProxy with deploy/haproxy.cfg as shipped; addresses from its environment variables."""

    port: int
    stats_port: int
    instances: list[Instance]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, haproxy: str) -> None:
        env = {
            **os.environ,
            "ONRAMP_LB_BIND": f"127.0.0.1:{self.port}",
            "ONRAMP_LB_STATS": f"127.0.0.1:{self.stats_port}",
        }
        for number, instance in enumerate(self.instances, start=1):
            env[f"ONRAMP_INSTANCE_{number}"] = f"127.0.0.1:{instance.port}"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [haproxy, "-db", "-f", str(DEPLOY / "haproxy.cfg")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def server_states(self) -> dict[str, str]:
        """Each instance's state as HAProxy's health checks see it (UP, DOWN, ...)."""
        text = requests.get(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=5).text
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "onramp_instances" and row["svname"] not in ("BACKEND",)
        }

    def wait_for_states(self, wanted: dict[str, str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                states = self.server_states()
            except requests.RequestException:
                states = {}
            if all(states.get(name, "").startswith(state) for name, state in wanted.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy sees {states}, not {wanted}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
