"""The first Docker call over ``ssh://``, side by side with the same call through the
engine's unix socket, in one run (issue 14, item 3).

The stack is the test suite's (``stack_fixtures``: the five stack-like containers on the
test engine) and, in front of the same engine, the suite's sshd (``ssh_docker``: a real
OpenSSH on loopback, ed25519 keys, sessions with ``DOCKER_HOST`` at the engine's socket;
the console's HOME holds ``~/.ssh/config`` and ``known_hosts``). Loopback has no network
latency: what is measured is what SSH itself adds (the key exchange and login, and the
``docker system dial-stdio`` the remote side runs for every connection to the engine).
Each over ``--runs`` rounds, the two transports interleaved (which goes first alternates):

- in-process, after one warm-up round (reported apart: it pays for importing paramiko):
  for SSH the login alone (paramiko: TCP, key exchange, public key; no engine yet), then
  ``open_client`` alone (connect: for SSH the login and one ``/version``), then a new
  ``DockerSource``'s first ``fetch()`` (connect, list, one inspect per container, the
  app's /app/.env through the archive API), then its second ``fetch()`` (the connection
  reused, inspects cached); the sshd's log counts the SSH sessions (one per connection to
  the engine) each took;
- cold process: ``magflow-console containers --json`` (the program as a user or a cron
  job runs it: start-up, imports, the first call).

Reports medians (and min-max) and the ratio SSH / socket of the medians. Writes
``bench/results/ssh.json``. Nothing asserts a timing.

    .venv/bin/python bench/bench_ssh.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pty_screen import ROOT, machine_info, machine_lines, median
from stack_fixtures import CONSOLE, BenchStack, add_stack_options, run_bench, write_results

from magflow_console.sources.docker import DockerSource
from magflow_console.sources.docker_connect import open_client
from tests.support.ssh_server import SshDocker

TRANSPORTS = ("socket", "ssh")
IN_PROCESS = ("connect", "first_fetch", "second_fetch")


def ssh_login(ssh: SshDocker) -> float:
    """The SSH login alone (paramiko: TCP, key exchange, host key check, public key), the
    part of the SSH connect before the first remote `docker system dial-stdio`."""
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(ssh.home / ".ssh" / "known_hosts"))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    t0 = time.perf_counter()
    client.connect(
        ssh.host, ssh.port, ssh.user, key_filename=str(ssh.client_key),
        allow_agent=False, look_for_keys=False, timeout=5,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    client.close()
    return elapsed


def in_process_round(url: str, stack: BenchStack, ssh: SshDocker) -> dict[str, float]:
    env = stack.env
    out: dict[str, float] = {}
    if url.startswith("ssh://"):
        out["login"] = ssh_login(ssh)
    t0 = time.perf_counter()
    client, _ = open_client(url, 5.0)
    out["connect"] = time.perf_counter() - t0
    client.close()
    source = DockerSource(
        url,
        project=env["MAGFLOW_CONSOLE_DOCKER__PROJECT"],
        prefix=env["MAGFLOW_CONSOLE_DOCKER__PREFIX"],
        service_map=stack.stack.names,
        timeout=5.0,
    )
    try:
        for key in ("first_fetch", "second_fetch"):
            before = ssh.sessions_started()
            t0 = time.perf_counter()
            snap = source.fetch()
            out[key] = time.perf_counter() - t0
            out[f"{key}_sessions"] = ssh.sessions_started() - before
            if snap.state != "ok":
                raise RuntimeError(f"{url}: {snap.error}")
    finally:
        source.close()
    return out


def cold_run(url: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [CONSOLE, "--docker-host", url, "containers", "--json"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if proc.returncode == 3 or '"state": "ok"' not in proc.stdout:
        raise RuntimeError(f"containers --json over {url} failed: {proc.stderr[-400:]}")
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": median(values), "min_s": min(values), "max_s": max(values)}


def interleaved(runs: int, one: Callable[[str], Any]) -> dict[str, list[Any]]:
    got: dict[str, list[Any]] = {t: [] for t in TRANSPORTS}
    for i in range(runs):
        for transport in TRANSPORTS if i % 2 == 0 else tuple(reversed(TRANSPORTS)):
            got[transport].append(one(transport))
    return got


def test_bench_ssh(
    bench_stack: BenchStack, ssh_docker: SshDocker, bench_options: argparse.Namespace
) -> None:
    runs = bench_options.runs
    info = machine_info()
    print("\n# The first Docker call over ssh:// and through the socket\n")
    print("\n".join(machine_lines(info)))
    print(f"stack: {bench_stack.describe()}; sshd (OpenSSH) on loopback in front of it")
    urls = {"socket": bench_stack.docker_url, "ssh": ssh_docker.url}
    old_home = os.environ.get("HOME")
    old_agent = os.environ.pop("SSH_AUTH_SOCK", None)
    os.environ["HOME"] = str(ssh_docker.home)  # paramiko reads ~/.ssh at each connect
    try:
        warm = {t: in_process_round(urls[t], bench_stack, ssh_docker) for t in TRANSPORTS}
        rounds = interleaved(runs, lambda t: in_process_round(urls[t], bench_stack, ssh_docker))
    finally:
        if old_home is not None:
            os.environ["HOME"] = old_home
        if old_agent is not None:
            os.environ["SSH_AUTH_SOCK"] = old_agent
    env = dict(bench_stack.env, HOME=str(ssh_docker.home), SSH_AUTH_SOCK="")
    cold = interleaved(runs, lambda t: cold_run(urls[t], env))

    result: dict[str, Any] = {
        "machine": info,
        "stack": bench_stack.describe(),
        "options": {k: str(v) for k, v in vars(bench_options).items()},
        "urls": urls,
        "runs": runs,
        "warmup": warm,
        "in_process": {},
        "cold": {},
    }
    print(f"\nmedians of {runs} interleaved runs (min-max); ratio = ssh / socket\n")
    for key in IN_PROCESS:
        per = {t: summary([r[key] for r in rounds[t]]) for t in TRANSPORTS}
        ratio = per["ssh"]["median_s"] / per["socket"]["median_s"]
        row: dict[str, Any] = {**per, "ratio": ratio}
        if key != "connect":
            row["ssh_sessions_median"] = median([r[f"{key}_sessions"] for r in rounds["ssh"]])
        result["in_process"][key] = row
        print(line(key, per, ratio, row.get("ssh_sessions_median")))
    login = summary([r["login"] for r in rounds["ssh"]])
    result["in_process"]["ssh_login"] = {"ssh": login}
    print(
        f"  {'of which the SSH login':26} {'':29}ssh {login['median_s'] * 1000:7.1f} ms "
        f"({login['min_s'] * 1000:.0f}-{login['max_s'] * 1000:.0f})"
    )
    per = {t: summary(cold[t]) for t in TRANSPORTS}
    ratio = per["ssh"]["median_s"] / per["socket"]["median_s"]
    result["cold"] = {**per, "ratio": ratio}
    print(line("containers --json, cold", per, ratio, None))
    w = warm["ssh"]
    print(
        f"\nwarm-up round (not counted), ssh: connect {w['connect'] * 1000:.0f} ms (paramiko "
        f"imported), first fetch {w['first_fetch'] * 1000:.0f} ms"
    )
    result["loadavg_at_end"] = os.getloadavg()
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in result["loadavg_at_end"]))
    path = write_results("ssh", result)
    print(f"\nwritten: {path.relative_to(ROOT)}")


def line(label: str, per: dict[str, dict[str, float]], ratio: float, sess: float | None) -> str:
    def cell(s: dict[str, float]) -> str:
        return f"{s['median_s'] * 1000:7.1f} ms ({s['min_s'] * 1000:.0f}-{s['max_s'] * 1000:.0f})"

    extra = f"; {sess:.0f} SSH sessions" if sess is not None else ""
    return (
        f"  {label:26} socket {cell(per['socket'])}  ssh {cell(per['ssh'])}  {ratio:5.2f}x{extra}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=21, help="interleaved runs of each (default 21)")
    add_stack_options(p)
    sys.exit(run_bench(__file__, p.parse_args(), plugins=("tests.support.ssh_server",)))


if __name__ == "__main__":
    main()
