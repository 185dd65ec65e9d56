"""Issue 21, items 1-4, through the real ``routing`` command and ``scripts/dev.sh`` as
subprocesses: starting on another port, a busy port, readable logs on a terminal, tokens from
another directory, and a configuration check that reports every problem at once."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest

from routing.messaging.bundled import free_port, setpriv_with_pdeathsig

ROOT = Path(__file__).resolve().parents[2]
ROUTING = str(Path(sys.executable).parent / "routing")


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without any ROUTING_* setting (a newcomer's shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTING_")}
    return env | extra


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"routing dev exited with {proc.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no /health on port {port} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the stack stops its bundled broker), SIGKILL if it does not go."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _running(cmd: list[str], port: int, **popen: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, **popen)  # type: ignore[call-overload]
    try:
        _wait_healthy(proc, port)
        yield proc
    finally:
        _stop(proc)


def test_dev_script_takes_a_port(tmp_path: Path) -> None:
    port = free_port()
    cmd = [str(ROOT / "scripts/dev.sh"), "--port", str(port), "--data-dir", str(tmp_path),
           "--demo-episodes", "5"]  # fmt: skip
    with _running(cmd, port, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL):  # fmt: skip
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"


def test_routing_dev_honours_routing_port(tmp_path: Path) -> None:
    port = free_port()
    cmd = [ROUTING, "dev", "--data-dir", str(tmp_path), "--demo-episodes", "5"]
    out = tmp_path / "out.txt"
    with (
        out.open("wb") as sink,
        _running(
            cmd, port, cwd=tmp_path, env=_env(ROUTING_PORT=str(port)), stdout=sink, stderr=sink
        ),
    ):
        pass
    # the banner names the port it serves, and a command that needs no activated venv
    banner = out.read_text()
    assert f"http://127.0.0.1:{port}/docs" in banner
    assert f"{ROUTING} token --role auditor" in banner.replace("\n", "")


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [ROUTING, "dev", "--port", str(port), "--data-dir", str(tmp_path / "var")],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"port {port} on 127.0.0.1 is not free (Address already in use): choose another with "
        "--port or ROUTING_PORT"
    ]
    assert "Unclosed" not in done.stderr + done.stdout
    assert not (tmp_path / "var").exists()  # nothing was started or created


def test_dev_on_a_terminal_logs_readable_lines(tmp_path: Path) -> None:
    port = free_port()
    leader, follower = pty.openpty()
    cmd = [ROUTING, "dev", "--port", str(port), "--data-dir", str(tmp_path), "--demo-episodes", "5"]
    seen = b""
    with _running(cmd, port, cwd=tmp_path, env=_env(COLUMNS="200"), stdin=subprocess.DEVNULL,
                  stdout=follower, stderr=follower):  # fmt: skip
        os.close(follower)
        deadline = time.monotonic() + 10
        while b"Application startup complete" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                seen += os.read(leader, 65536)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert "Application startup complete" in text
    assert '{"level"' not in text  # no JSON log lines on a terminal
    assert "uvicorn.error: Application startup complete" in text


def test_dev_logs_json_when_not_a_terminal_or_asked(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out.txt"
    cmd = [ROUTING, "dev", "--port", str(port), "--data-dir", str(tmp_path), "--demo-episodes", "5"]
    with out.open("wb") as sink, _running(cmd, port, cwd=tmp_path, env=_env(),
                                          stdout=sink, stderr=sink):  # fmt: skip
        pass
    lines = [json.loads(x) for x in out.read_text().splitlines() if x.startswith('{"level"')]
    assert any(line["message"] == "Application startup complete." for line in lines)


def test_token_from_another_directory_never_makes_keys(tmp_path: Path) -> None:
    """Run where there is no var/: the token is signed with the checkout's development key
    (the one `./scripts/dev.sh` made), or, without one, refused, and nothing is created."""
    done = subprocess.run(
        [ROUTING, "token", "--role", "auditor"], cwd=tmp_path, env=_env(),
        capture_output=True, text=True,
    )  # fmt: skip
    assert not (tmp_path / "var").exists()
    checkout_keys = ROOT / "var" / "dev-keys.json"
    if checkout_keys.exists():
        secret = json.loads(checkout_keys.read_text())["auth_dev_secret"]
        claims = jwt.decode(done.stdout.strip(), secret, algorithms=["HS256"], audience="routing")
        assert claims["roles"] == ["auditor"]
    else:
        assert done.returncode == 2
        assert "no development keys" in done.stderr


def test_token_uses_the_data_dir_of_the_stack(tmp_path: Path) -> None:
    (tmp_path / "dev-keys.json").write_text(json.dumps({"auth_dev_secret": "s" * 48}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [ROUTING, "token", "--role", "finance", "--region", "14", "--data-dir", str(tmp_path)],
        cwd=elsewhere, env=_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    claims = jwt.decode(done.stdout.strip(), "s" * 48, algorithms=["HS256"], audience="routing")
    assert claims["region"] == "14"


@pytest.mark.parametrize("option", ["--region", "--care-region"])
def test_token_refuses_a_region_that_does_not_exist(tmp_path: Path, option: str) -> None:
    (tmp_path / "dev-keys.json").write_text(json.dumps({"auth_dev_secret": "s" * 48}))
    done = subprocess.run(
        [ROUTING, "token", "--role", "finance", "--role", "front_end", option, "99x",
         "--data-dir", str(tmp_path)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "'99x' is not a region" in done.stderr
    assert done.stdout == ""


def test_token_help_gives_a_command_that_needs_no_venv() -> None:
    done = subprocess.run([ROUTING, "token", "--help"], env=_env(COLUMNS="300"),
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert f"{ROUTING} token --role auditor" in " ".join(done.stdout.split())


def test_config_check_reports_every_problem_at_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [ROUTING, "config", "check", "--offline", "--json"], cwd=tmp_path,
        env=_env(ROUTING_CIPHER_KEY="xyz", ROUTING_PORT="eighty", ROUTING_STORE="postgres"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    found = {f["variable"]: f for f in json.loads(done.stdout) if f["level"] == "error"}
    assert set(found) == {"ROUTING_CIPHER_KEY", "ROUTING_PORT", "ROUTING_POSTGRES_DSN"}
    assert "base64" in found["ROUTING_CIPHER_KEY"]["message"]
    assert "xyz" not in done.stdout  # a secret is never echoed


@pytest.mark.parametrize(
    ("key", "why"), [("xyz", "not base64"), ("QUJD", "3 bytes; AES needs 16, 24 or 32")]
)
def test_a_bad_cipher_key_stops_commands_with_one_line(tmp_path: Path, key: str, why: str) -> None:
    done = subprocess.run(
        [ROUTING, "demo", "load", "--episodes", "1"], cwd=tmp_path,
        env=_env(ROUTING_CIPHER_KEY=key), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"ROUTING_CIPHER_KEY: Value error, key 1 is {why}" in done.stderr.replace("\n", " ")


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc: field 4 of each stat)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(setpriv_with_pdeathsig() is None, reason="no setpriv --pdeathsig")
def test_a_killed_routing_broker_takes_its_bundled_broker_along(tmp_path: Path) -> None:
    """SIGKILL gives ``routing`` no chance to stop the Tansu process it started; the kernel
    must (parent-death signal), or it outlives us holding its port and memory."""
    port, tansu = free_port(), 0
    proc = subprocess.Popen([ROUTING, "broker", "--port", str(port)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert proc.poll() is None, f"routing broker exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"no broker on port {port} within 30 s"
            time.sleep(0.1)
        (tansu,) = _children(proc.pid)
        assert "tansu" in Path(f"/proc/{tansu}/cmdline").read_bytes().decode()
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    outlived = _listening(port)
    if outlived:  # not left holding the port for the rest of the session
        with contextlib.suppress(ProcessLookupError):
            os.kill(tansu, signal.SIGKILL)
    assert not outlived, "the bundled broker outlived the routing process that owned it"
