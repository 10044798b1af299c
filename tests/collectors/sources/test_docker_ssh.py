"""ssh:// Docker hosts: the real docker SDK through a real sshd on 127.0.0.1.

The sshd runs as a child of the test with its own config, host key and authorized key (nothing of
the machine's ssh setup is used or changed). Its ForceCommand stands in for the remote
``docker system dial-stdio``: it joins the session's stdin/stdout to the fake Engine's socket,
which is what the real command does with the real daemon's.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.transport import SSHHTTPAdapter

from collectors.settings import DockerHost
from collectors.sources.docker_logs import (
    DockerDiscovery,
    HostReachability,
    plaintext_warning,
    uses_ssh_client,
)
from tests.collectors.sources.helpers import Follow
from tests.collectors.sources.test_docker_logs import FARMER_IMAGE, farmer_lines, source
from tests.fakes.docker_engine import FakeDockerEngine

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH = shutil.which("ssh")
HOST_ALIAS = "cosmos-test-docker"

needs_sshd = pytest.mark.skipif(
    not (os.access(SSHD, os.X_OK) and SSH and shutil.which("ssh-keygen")),
    reason="openssh-server and openssh-client are not installed (.ci/run installs them)",
)

DIAL_STDIO = """
import os, socket, sys, threading
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
def up():
    while data := os.read(0, 65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := sock.recv(65536):
    os.write(1, data)
"""


@dataclass
class Sshd:
    port: int
    folder: Path
    user: str

    def client_config(self) -> str:
        return (
            f"Host {HOST_ALIAS}\n"
            f"  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {self.folder / 'client_key'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.folder / 'known_hosts'}\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path) as fake:
        yield fake


@pytest.fixture
def sshd(tmp_path: Path, engine: FakeDockerEngine) -> Iterator[Sshd]:
    folder = tmp_path / "ssh"
    folder.mkdir()
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True
        )
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    (folder / "dial_stdio.py").write_text(DIAL_STDIO)
    port = _free_port()
    host_key = (folder / "host_key.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    socket_path = engine.base_url.removeprefix("unix://")
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nAllowTcpForwarding no\nX11Forwarding no\n"
        f"ForceCommand {sys.executable} {folder / 'dial_stdio.py'} {socket_path}\n"
    )
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "sshd.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail("sshd did not start: " + (folder / "sshd.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("sshd did not listen: " + (folder / "sshd.log").read_text())
                time.sleep(0.05)
        yield Sshd(port, folder, getpass.getuser())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def system_ssh(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sshd:
    """The system ssh client, with this test's config (an ``ssh`` first on PATH adds ``-F``)."""
    (sshd.folder / "ssh_config").write_text(sshd.client_config())
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {SSH} -F {sshd.folder / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return sshd


@pytest.fixture
def paramiko_only(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sshd:
    """No ssh on PATH: the SDK's paramiko client, configured through ~/.ssh as a user would."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(sshd.client_config())
    shutil.copy(sshd.folder / "known_hosts", home / ".ssh" / "known_hosts")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return sshd


@needs_sshd
@pytest.mark.parametrize("client", ["system_ssh", "paramiko_only"])
async def test_logs_over_ssh(
    engine: FakeDockerEngine, client: str, request: pytest.FixtureRequest
) -> None:
    server: Sshd = request.getfixturevalue(client)
    # The SDK always passes a port (22 when the URL has none), over ~/.ssh/config's Port.
    base_url = f"ssh://{server.user}@{HOST_ALIAS}:{server.port}"
    assert uses_ssh_client(base_url) is (client == "system_ssh")
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", *farmer_lines(0, 3))
    finder = DockerDiscovery(DockerHost(base_url=base_url), HostReachability(base_url, 1))
    try:
        assert await finder.targets() == {"farmer": ["farmer"]}
    finally:
        finder.close()
    ssh_source = source(engine)
    ssh_source.base_url = base_url
    follow = Follow(ssh_source)
    try:
        assert await follow.wait_lines(3, within=30) == farmer_lines(0, 3)
        engine.append("farmer", *farmer_lines(3, 2))
        assert await follow.wait_lines(5, within=30) == farmer_lines(0, 5)
    finally:
        await follow.stop()


def test_the_sdk_builds_an_ssh_client() -> None:
    """Without paramiko the SDK refuses every ssh:// URL, the system ssh client or not."""
    client = docker.DockerClient(
        base_url="ssh://cosmos@127.0.0.1:9", version="1.45", use_ssh_client=True
    )
    try:
        assert isinstance(client.api.get_adapter("http+docker://ssh"), SSHHTTPAdapter)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("tcp://10.0.0.12:2375", True),
        ("http://rig-2:2375", True),
        ("tcp://127.0.0.1:2375", False),
        ("tcp://[::1]:2375", False),
        ("tcp://localhost:2375", False),
        ("tcp://docker-proxy:2375", True),
        ("https://rig-2:2376", False),
        ("ssh://cosmos@rig-2", False),
        ("unix:///var/run/docker.sock", False),
    ],
)
def test_plain_tcp_is_warned_about(base_url: str, warned: bool) -> None:
    warning = plaintext_warning(base_url)
    assert (warning is not None) is warned
    if warning:
        assert "without TLS" in warning
