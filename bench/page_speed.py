"""How a journey step page's speed compares with the floor for a server-rendered page.

Starts Onramp under its own gunicorn settings (app/gunicorn_conf.py, 2 workers x 4
threads) on a fresh SQLite database with the demo data, opens the demo customer's link
to get a session, then starts the floor (bench/floor_app.py: bare Flask rendering a
template of the same byte size, same gunicorn settings), warms both up (WARMUP seconds
each, not counted) and runs `wrk` (Debian's package) against each, one after the
other, at 1 and at 16 connections, for ROUNDS alternating rounds, so that a busy
machine slows both alike. Prints each round's
requests per second and ratio (floor / Onramp), then the median ratio per connection
count. Onramp writes its access log as it would in production (to a discarded stdout).

Run: `make bench` or `.venv/bin/python bench/page_speed.py [--rounds 5] [--seconds 5]
[--warmup 3]`.
Ports: PAGE_SPEED_PORT (Onramp, default 5150) and the next one (the floor).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONNECTIONS = (1, 16)
STEP = "/journey/welcome"


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} stopped (exit {process.returncode})")
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url}")


@contextmanager
def _serving(command: list[str], url: str, env: dict[str, str], cwd: Path) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(url, process)
        yield
    finally:
        process.terminate()
        process.wait(30)


def _gunicorn_env(port: int, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "ONRAMP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{folder / 'onramp.db'}",
        "ONRAMP_SANDBOX_DATABASE_URL": f"sqlite:///{folder / 'sandbox.db'}",
        "ONRAMP_SERVER_FILE": str(folder / "server.json"),
        "ONRAMP_DEMO_ADMIN_FILE": str(folder / "demo-admin.json"),
        "ONRAMP_WEBHOOK_WORKER": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
    }


def _demo_link(env: dict[str, str]) -> str:
    flask = [str(BIN / "flask"), "--app", "app:create_app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    printed = subprocess.run(
        [*flask, "demo"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    found = re.search(r"http://\S+/j/\S+", printed)
    if found is None:
        raise SystemExit("`flask demo` printed no journey link")
    return found.group(0)


def _requests_per_second(url: str, connections: int, seconds: int, cookie: str) -> float:
    shown = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", f"Cookie: {cookie}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", shown)
    if found is None:
        raise SystemExit(f"wrk printed no rate:\n{shown}")
    return float(found.group(1))


def measure(rounds: int, seconds: int, port: int, warmup: int = 3) -> dict[int, list[float]]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    ratios: dict[int, list[float]] = {c: [] for c in CONNECTIONS}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "metrics").mkdir()
        env = _gunicorn_env(port, folder)
        link = _demo_link(env)
        onramp = [str(BIN / "gunicorn"), "--config", "python:app.gunicorn_conf", "app:create_app()"]
        base = f"http://127.0.0.1:{port}"
        with _serving(onramp, base + "/healthz", env, ROOT):
            browser = requests.Session()
            opened = browser.get(link, timeout=10)
            if not opened.url.endswith(STEP):
                raise SystemExit(f"the demo link led to {opened.url}, not {STEP}")
            cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
            size = len(browser.get(base + STEP, timeout=10).content)
            floor = [str(BIN / "gunicorn"), "-k", "gthread", "-w", "2", "--threads", "4"]
            floor += ["-b", f"127.0.0.1:{port + 1}", f"floor_app:make({size})"]
            floor_url = f"http://127.0.0.1:{port + 1}/"
            with _serving(floor, floor_url, dict(os.environ), ROOT / "bench"):
                # Discarded: both servers' first seconds (each worker's first pages, caches
                # filling) are not what they serve at.
                for url in (floor_url, base + STEP):
                    _requests_per_second(url, max(CONNECTIONS), warmup, cookie)
                print(f"step page {STEP}: {size} bytes; {rounds} rounds of {seconds} s each")
                for connections in CONNECTIONS:
                    for round_ in range(1, rounds + 1):
                        low = _requests_per_second(floor_url, connections, seconds, cookie)
                        ours = _requests_per_second(base + STEP, connections, seconds, cookie)
                        ratios[connections].append(low / ours)
                        print(
                            f"c={connections:<2} round {round_}: floor {low:7.1f} req/s, "
                            f"step page {ours:7.1f} req/s, ratio {low / ours:.2f}"
                        )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3, help="seconds, on each, not counted")
    args = parser.parse_args()
    port = int(os.environ.get("PAGE_SPEED_PORT", "5150"))
    ratios = measure(args.rounds, args.seconds, port, args.warmup)
    for connections, seen in ratios.items():
        print(f"c={connections:<2} median ratio (floor / step page): {statistics.median(seen):.2f}")


if __name__ == "__main__":
    main()
