"""Ray processes a test starts and ends itself: `ray start` nodes and command lines, each in a
session of its own, ended by that session's id (never `ray stop`, which ends every Ray on the
machine), and Ray workers found by the name a fold task gives its process."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def end_session(leader: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM to every process of the session `leader` started, SIGKILL to what is left after
    `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=grace_s)
        deadline = time.monotonic() + grace_s
        while session_members(leader.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not session_members(leader.pid):
            return


def session_members(session: int) -> list[int]:
    """Live processes (zombies aside) whose session id is `session`."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[3]) == session:
                members.append(int(stat.parent.name))
    return members


def pids_titled(title: str) -> list[int]:
    """Processes whose command line is `title` (Ray names a worker `ray::<task name>` while it runs one)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if cmdline.read_bytes().split(b"\0")[0].decode(errors="replace").strip() == title:
                pids.append(int(cmdline.parent.name))
    return pids


def node_ports() -> list[str]:
    """Ports of their own for one `ray start` node, so that two nodes (or another test's Ray) on
    one machine never collide."""
    return [f"--{flag}={free_port()}" for flag in ("node-manager-port", "object-manager-port", "ray-client-server-port",
                                                     "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port")]


@contextlib.contextmanager
def ray_node(args: list[str], log: Path, ready: str, timeout: float = 120):
    """`ray start ARGS --block` until the block ends; yields once `ready` (a regular expression) is in
    its log, with the match."""
    with open(log, "w") as out:
        node = subprocess.Popen([str(RAY), "start", *args, "--num-gpus=0", "--disable-usage-stats", "--block"],
                                cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not (found := re.search(ready, log.read_text())):
            assert node.poll() is None and time.monotonic() < deadline, f"ray start failed:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield found
    finally:
        end_session(node)
        forget_cluster(log)


def forget_cluster(log: Path) -> None:
    """`ray start --head` notes its address for a later plain `ray.init()` on this machine
    (ray_current_cluster in Ray's temporary folder); `ray stop` would remove the note, so the test does once
    its head is gone."""
    note = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    with contextlib.suppress(OSError):
        if note.read_text().strip() and f"--address='{note.read_text().strip()}'" in log.read_text():
            note.unlink()
