"""The load test: simulated customers through whole journeys, on gunicorn + PostgreSQL + Redis.

1. Makes a fresh PostgreSQL database with the two roles of docs/database-roles.md
   (``onramp_owner`` migrates, the server runs as ``onramp_app``), and one for the
   Sandbox's own tables (as the administrator: it plays a third-party platform).
2. Migrates, makes an API key with `flask api-keys create`, and starts gunicorn
   (app/gunicorn_conf.py; WEB_CONCURRENCY and GUNICORN_THREADS as set) in production
   mode on Redis, and the Sandbox on a gunicorn of its own, as Xero would be
   (``--sandbox-mounted``: inside Onramp's, as `make run` and a UAT environment have it).
3. Runs locust headless (locustfile.py): ``--users`` customers, each walking whole
   journeys one after another for ``--run-time``, reading each page for
   LOAD_THINK_SECONDS (default 5-15, uniform) before acting on it.
4. Stops the server, then prints p50/p95/p99 and failures per step, the journeys
   completed, the consent decisions the customers made against those in the database
   (customer by customer), and what `flask consents verify` says.

Exit status 1 when the decisions differ or the ledger does not verify.

Run: `make bench-load` or `.venv/bin/python bench/load/run.py [--users 200]
[--spawn-rate 20] [--run-time 5m] [--sandbox-mounted]`. PostgreSQL from LOAD_ADMIN_DATABASE_URL (a
superuser; default postgresql://postgres@127.0.0.1:5432/postgres), Redis from
LOAD_REDIS_URL (default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OWNER, APP = "onramp_owner", "onramp_app"
# What the owner grants the app on every table it creates: rows, nothing more.
GRANTS = [
    "ALTER SCHEMA public OWNER TO {owner}",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
    "GRANT USAGE, SELECT ON SEQUENCES TO {app}",
]
ONRAMP_APP = "app:create_app()"
SANDBOX_APP = "app.sandbox:create_sandbox_app()"
SANDBOX_PROBE = "/.well-known/oauth-authorization-server"
# The steps in the order a customer meets them, for the report.
STEP_ORDER = [
    "api: create customer",
    "api: create link",
    "step: open link",
    "step: welcome",
    "step: consent",
    "step: software",
    "step: connect",
    "sandbox: sign-in page",
    "sandbox: sign in",
    "sandbox: consent screen",
    "sandbox: approve",
    "step: callback",
    "step: done",
]


def main() -> int:
    options = _arguments()
    admin = os.environ.get(
        "LOAD_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    folder = Path(options.output or tempfile.mkdtemp(prefix="onramp-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    database, sandbox_database = options.database, f"{options.database}_sandbox"
    fresh_databases(admin, database, sandbox_database)
    env = server_environment(admin, database, sandbox_database, options.port, folder)
    flask(env, "db", "upgrade")
    api_key = flask(env, "api-keys", "create", "--name", "load test", "--scope", "write")
    servers: list[subprocess.Popen[bytes]] = []
    try:
        if not options.sandbox_mounted:
            sandbox_env = sandbox_apart(env, options.port + 1)
            servers.append(start_server(sandbox_env, SANDBOX_APP, folder / "sandbox.log"))
            wait_until_healthy(servers[-1], f"{env['ONRAMP_SANDBOX_URL']}{SANDBOX_PROBE}")
        servers.append(start_server(env, ONRAMP_APP, folder / "gunicorn.log"))
        wait_until_healthy(servers[-1], f"{env['ONRAMP_PUBLIC_URL']}/healthz")
        locust = run_locust(options, env["ONRAMP_PUBLIC_URL"], api_key.splitlines()[0], folder)
    finally:
        for server in reversed(servers):
            stop_server(server)
    stats = read_stats(folder / "locust_stats.csv")
    tally = json.loads((folder / "tally.json").read_text())
    print_steps(stats, options)
    print_failures(folder / "locust_failures.csv")
    print_journeys(tally, app_url(admin, database))
    same = print_consents(tally, app_url(admin, database))
    verified = print_verify(env)
    print(f"Locust exited {locust}; its CSV files, the tally and the server's log: {folder}")
    return 0 if same and verified else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="Concurrent customers.")
    parser.add_argument(
        "--spawn-rate", type=float, default=20, help="Customers started per second."
    )
    parser.add_argument("--run-time", default="5m", help="How long they keep coming (locust's -t).")
    parser.add_argument(
        "--sandbox-mounted",
        action="store_true",
        help="Serve the Sandbox inside Onramp's gunicorn (as `make run` and a UAT environment"
        " do), not from a gunicorn of its own on the next port.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOAD_PORT", "5300")))
    parser.add_argument("--database", default=os.environ.get("LOAD_DATABASE", "onramp_load"))
    parser.add_argument(
        "--output", default="", help="Folder for the CSVs and logs (default: a new temporary one)."
    )
    return parser.parse_args()


# The databases -------------------------------------------------------------------


def _admin_url(admin: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=database)


def app_url(admin: str, database: str) -> str:
    """The database as the app role sees it."""
    return psycopg.conninfo.make_conninfo(admin, dbname=database, user=APP)


def fresh_databases(admin: str, database: str, sandbox_database: str) -> None:
    """Drop and make both databases; the roles when missing (never dropped: the cluster's)."""
    with psycopg.connect(admin, autocommit=True) as connection:
        for role in (OWNER, APP):
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if exists.fetchone() is None:
                connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        for name in (database, sandbox_database):
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(OWNER)
            )
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(sandbox_database)))
    with psycopg.connect(_admin_url(admin, database), autocommit=True) as connection:
        for grant in GRANTS:
            connection.execute(
                sql.SQL(grant).format(owner=sql.Identifier(OWNER), app=sql.Identifier(APP))
            )


def _sqlalchemy_url(conninfo: str) -> str:
    parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    password = f":{parts['password']}" if parts.get("password") else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"postgresql://{parts['user']}{password}@{host}:{port}/{parts['dbname']}"


# The server ----------------------------------------------------------------------


def server_environment(
    admin: str, database: str, sandbox_database: str, port: int, folder: Path
) -> dict[str, str]:
    """Production mode with fresh secrets, the Sandbox mounted, PostgreSQL and Redis."""
    owner = psycopg.conninfo.make_conninfo(admin, dbname=database, user=OWNER)
    env = {
        **os.environ,
        "ONRAMP_ENV_NAME": "production",
        "ONRAMP_SANDBOX_ENABLED": "true",
        "ONRAMP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": _sqlalchemy_url(app_url(admin, database)),
        "MIGRATION_DATABASE_URL": _sqlalchemy_url(owner),
        "ONRAMP_SANDBOX_DATABASE_URL": _sqlalchemy_url(_admin_url(admin, sandbox_database)),
        "REDIS_URL": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "ONRAMP_SECRET_KEY": secrets.token_urlsafe(48),
        "ONRAMP_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ONRAMP_SANDBOX_CLIENT_SECRET": secrets.token_urlsafe(32),
        "ONRAMP_CONSENT_SIGNING_KEY": secrets.token_urlsafe(32),
        # Where the server says it runs: here, not in the checkout's instance/.
        "ONRAMP_SERVER_FILE": str(folder / "server.json"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """A `flask` command as an operator runs it: its output, or the run stops."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "app:create_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def sandbox_apart(env: dict[str, str], port: int) -> dict[str, str]:
    """The Sandbox on a server of its own, as Xero is: a customer's callback then waits
    for a platform that is not busy with Onramp's own requests. Each is told where the
    other is: Onramp the Sandbox's address, the Sandbox Onramp's callback."""
    sandbox_url = f"http://127.0.0.1:{port}"
    env["ONRAMP_SANDBOX_URL"] = f"{sandbox_url}/sandbox"
    return {
        **env,
        "ONRAMP_PUBLIC_URL": sandbox_url,
        "PORT": str(port),
        "ONRAMP_SANDBOX_REDIRECT_URIS": json.dumps(
            [f"{env['ONRAMP_PUBLIC_URL']}/connect/sandbox/callback"]
        ),
        "ONRAMP_SANDBOX_CLIENT_NAME": "Northwind Lending",
        "ONRAMP_WEBHOOK_WORKER": "false",
        "ONRAMP_SERVER_FILE": env["ONRAMP_SERVER_FILE"] + ".sandbox",
    }


def start_server(env: dict[str, str], app: str, log_path: Path) -> subprocess.Popen[bytes]:
    """gunicorn as app/gunicorn_conf.py has it, in a process group of its own."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "python:app.gunicorn_conf", app],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_healthy(server: subprocess.Popen[bytes], probe: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited {server.returncode}: see its log")
        try:
            if requests.get(probe, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass  # still starting
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer {probe} within two minutes")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the master: requests in hand finish, then it and its workers exit."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# Locust and the report -----------------------------------------------------------


def run_locust(options: argparse.Namespace, host: str, api_key: str, folder: Path) -> int:
    command = [
        str(BIN / "locust"),
        "--locustfile", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "--only-summary",
        "--host", host,
        "--users", str(options.users),
        "--spawn-rate", str(options.spawn_rate),
        "--run-time", options.run_time,
        # Customers stop at their next page, never halfway through a request.
        "--stop-timeout", "120",
        "--csv", str(folder / "locust"),
        "--tally-file", str(folder / "tally.json"),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "ONRAMP_LOAD_API_KEY": api_key}
    with (folder / "locust.log").open("wb") as log:
        return subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def read_stats(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def print_steps(stats: list[dict[str, str]], options: argparse.Namespace) -> None:
    order = {name: index for index, name in enumerate(STEP_ORDER)}
    rows = sorted(
        (row for row in stats if row["Name"] != "Aggregated"),
        key=lambda row: (order.get(row["Name"], len(order)), row["Type"]),
    )
    total = next(row for row in stats if row["Name"] == "Aggregated")
    print(
        f"Load test: {options.users} customers (spawned {options.spawn_rate}/s) for "
        f"{options.run_time}, reading each page "
        f"{os.environ.get('LOAD_THINK_SECONDS', '5-15')} s; the Sandbox "
        f"{'mounted' if options.sandbox_mounted else 'on its own server'}; "
        "milliseconds per request"
    )
    print(f"{'request':<34}{'count':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>8}")
    for row in [*rows, total]:
        label = f"{row['Type']} {row['Name']}".strip() if row is not total else "all requests"
        print(
            f"{label:<34}{row['Request Count']:>7}{row['50%']:>8}{row['95%']:>8}"
            f"{row['99%']:>8}{row['Failure Count']:>8}"
        )
    print(f"throughput: {float(total['Requests/s']):.1f} requests/s")


def print_failures(path: Path) -> None:
    for row in read_stats(path):
        print(f"failed: {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}")


def print_journeys(tally: dict[str, object], url: str) -> None:
    with psycopg.connect(url) as connection:
        runs = connection.execute(
            "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FROM journey_runs"
        ).fetchone()
        connections = connection.execute(
            "SELECT status || coalesce(' (' || last_error || ')', ''), count(*) "
            "FROM connections GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    completed, started = runs or (0, 0)
    print(
        f"journeys: {tally['completed']} completed, {tally['broken']} not (stopped by the end "
        f"of the run or by a failed step); the database has {completed} of {started} runs completed"
    )
    print("connections: " + ", ".join(f"{count} {status}" for status, count in connections))


def print_consents(tally: dict[str, object], url: str) -> bool:
    """The customers' decisions against the ledger's, customer by customer."""
    given: Counter[tuple[str, str]] = Counter()
    for decisions in tally["decisions"]:  # type: ignore[attr-defined]
        given[(decisions["external_id"], "granted")] += decisions["granted"]
        given[(decisions["external_id"], "declined")] += decisions["declined"]
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT c.external_id, r.decision, count(*) FROM consent_records r "
            "JOIN customers c ON c.id = r.customer_id "
            "WHERE r.decision IN ('granted', 'declined') GROUP BY 1, 2"
        ).fetchall()
    stored = Counter({(external_id, decision): count for external_id, decision, count in rows})
    given, stored = +given, +stored
    for decision in ("granted", "declined"):
        made = sum(n for (_, d), n in given.items() if d == decision)
        kept = sum(n for (_, d), n in stored.items() if d == decision)
        print(f"consents {decision}: {made} by the customers, {kept} in the database")
    differing = {key for key in given.keys() | stored.keys() if given[key] != stored[key]}
    unanswered = tally["unanswered_consents"]
    if differing:
        print(
            f"DIFFERENT for {len({key[0] for key in differing})} customer(s) "
            f"({unanswered} consent step(s) got no answer)"
        )
        return False
    print(f"consents equal, customer by customer ({unanswered} consent step(s) got no answer)")
    return True


def print_verify(env: dict[str, str]) -> bool:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "app:create_app", "consents", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    print(f"flask consents verify: {(done.stdout + done.stderr).strip()}")
    return done.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
