"""The hostile-input suite's targets, run far longer than in CI.

Sends Hypothesis-made hostile requests (NUL, CR/LF, lone surrogates, 100 kB strings, RTL
overrides, deep JSON, wrong types, unknown fields…) to every journey form, the customer's
page, the console's forms and the API, in-process against a real database and a live
Sandbox, and prints inputs, 5xx and timings per target, then every distinct failure.
The total is shared out in proportion to each target's share of the CI run.

Run: `make bench-hostile` or
`.venv/bin/python bench/hostile.py [--total 200000] [--seed N] [--only TEXT]`;
with TEST_DATABASE_URL set (e.g. postgresql://postgres@127.0.0.1:5432/bench) it runs on
that PostgreSQL database (its public schema is emptied first), otherwise on SQLite.
Exit status 1 when any 5xx was seen.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile.probe import Tally
from tests.hostile.targets import TARGETS, Target, explore
from tests.hostile.world import world_for


def shares(targets: list[Target], total: int) -> dict[str, int]:
    """Examples per target: ``total`` split as the CI run splits its own."""
    weight = sum(t.examples for t in targets)
    return {t.name: max(1, round(total * t.examples / weight)) for t in targets}


def status_mix(tally: Tally, target: str) -> str:
    counts: dict[int, int] = tally.statuses.get(target, {})
    seen = sum(counts.values()) or 1
    groups: dict[str, int] = {}
    for status, count in counts.items():
        groups[f"{status // 100}xx"] = groups.get(f"{status // 100}xx", 0) + count
    return " ".join(f"{group} {count / seen:4.0%}" for group, count in sorted(groups.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=200_000, help="inputs in all")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--only", default="", help="only targets whose name contains this")
    args = parser.parse_args()
    # The live Sandbox's request log would drown the figures.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    targets = [t for t in TARGETS if args.only in t.name]
    planned = shares(targets, args.total)
    database = "PostgreSQL" if os.environ.get("TEST_DATABASE_URL") else "SQLite"
    print(f"{sum(planned.values())} inputs to {len(targets)} targets on {database}, seed {seed}")
    tally = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, world_for(Path(folder), tally) as world:
        for target in targets:
            began = time.perf_counter()
            explore(world, target, planned[target.name], seed=seed)
            took = time.perf_counter() - began
            print(
                f"{target.name:<62}{tally.inputs[target.name]:>8} inputs"
                f"{tally.server_errors[target.name]:>6} x 5xx {took:>7.1f} s   "
                f"{status_mix(tally, target.name)}",
                flush=True,
            )
    wall = time.perf_counter() - started
    print()
    print(tally.report())
    print()
    for area in dict.fromkeys(t.area for t in targets):
        names = [t.name for t in targets if t.area == area]
        inputs = sum(tally.inputs[name] for name in names)
        errors = sum(tally.server_errors[name] for name in names)
        print(f"{area:<16}{inputs:>9} inputs{errors:>7} x 5xx")
    print(
        f"\n{tally.total_inputs} inputs, {tally.total_server_errors} x 5xx, "
        f"{wall:.0f} s wall ({tally.total_inputs / wall:.0f} inputs/s), seed {seed}"
    )
    return 1 if tally.total_server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
