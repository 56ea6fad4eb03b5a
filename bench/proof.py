"""Proof under load, faults and scale (`make proof`): the four checks one after another, timed, with their figures.

1. `bench/load.py` (`make bench-load`): a minute of mixed traffic over 50 workspaces, its `load:` line.
2. The fault tests (`tests/faults/`: PostgreSQL restarted, Redis stopped, a worker killed mid-task).
3. The isolation sweep (`tests/tenants/test_isolation_sweep.py`: every workspace URL and API route against another
   workspace's ids).
4. `bench/scale.py` (`make bench-scale`): 10,000 workspaces, its `scale:` line.

2 and 3 are also part of `make test`. Each step's output goes through as it comes; the last lines sum up, with each
figure checked against its target (no 5xx, no cross-tenant answer, no lost write; p95 at 10,000 workspaces within
1.2 times p95 at 10, a no-op migrate within 60 s), and the command fails if a step does, a target is missed, or the
whole took longer than `--budget-s` (15 minutes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# (figure, the test it must pass, the target as written) for the `load:` and `scale:` lines
TARGETS: dict[str, list[tuple[str, Callable[[float], bool], str]]] = {
    "load:": [
        ("errors_5xx", lambda v: v == 0, "= 0"),
        ("cross_tenant", lambda v: v == 0, "= 0"),
        ("lost_writes", lambda v: v == 0, "= 0"),
    ],
    "scale:": [
        ("tenants", lambda v: v >= 10_000, ">= 10000"),
        ("p95_ratio_10k_vs_10", lambda v: v <= 1.2, "<= 1.2"),
        ("noop_migrate_s", lambda v: v <= 60, "<= 60"),
    ],
}


def missed(marker: str, figures: str) -> list[str]:
    """The targets a step's last line misses (a figure absent from it is missed too)."""
    values: dict[str, float] = {}
    for word in figures.split()[1:]:
        name, _, text = word.partition("=")
        try:
            values[name] = float(text.rstrip("x"))
        except ValueError:
            continue
    out = []
    for name, test, target in TARGETS.get(marker, []):
        found = values.get(name)
        if found is None or not test(found):
            out.append(f"{name}={found if found is not None else 'missing'} (target {target})")
    return out


def run(label: str, command: list[str], marker: str) -> tuple[bool, float, str]:
    """Run a step, echoing its output; (passed, seconds, its last line starting with `marker`)."""
    print(f"== {label}: {' '.join(command)}", flush=True)
    started = time.perf_counter()
    figures = ""
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(marker) or (marker == "passed" and " passed" in line):
                figures = line.strip()
    return process.returncode == 0, time.perf_counter() - started, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=15 * 60)
    args = parser.parse_args()
    python = sys.executable
    steps = [
        ("load", [python, "bench/load.py"], "load:"),
        ("faults", [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"], "passed"),
        (
            "isolation sweep",
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/tenants/test_isolation_sweep.py"],
            "passed",
        ),
        ("scale", [python, "bench/scale.py"], "scale:"),
    ]
    started = time.perf_counter()
    results = []
    for label, command, marker in steps:
        passed, seconds, figures = run(label, command, marker)
        results.append((label, passed, seconds, figures, missed(marker, figures) if passed else []))
    total = time.perf_counter() - started
    print("== proof", flush=True)
    for label, passed, seconds, figures, misses in results:
        print(
            f"  {label:16s} {'ok    ' if passed and not misses else 'FAILED'} {seconds:6.0f} s  {figures}", flush=True
        )
        for miss in misses:
            print(f"  {'':16s} missed: {miss}", flush=True)
    within = total <= args.budget_s
    verdict = "within" if within else "OVER"
    print(f"proof: total_s={total:.0f} budget_s={args.budget_s:.0f} {verdict} budget", flush=True)
    return 0 if within and all(passed and not misses for _l, passed, _s, _f, misses in results) else 1


if __name__ == "__main__":
    sys.exit(main())
