"""`make proof` (bench/proof.py) judges the load and scale benchmarks' last lines against the targets: a figure over
its target, or missing, fails the run."""

from __future__ import annotations

import sys
from typing import Any

from bench import proof
from bench.proof import missed

LOAD = "load: requests=7766 rps=130 p95_ms=130 errors_5xx=0 cross_tenant=0 lost_writes=0"
SCALE = "scale: tenants=10000 p95_ratio_10k_vs_10=1.17x route_cache_mb=5.98 backend_rss_mb=48.9 noop_migrate_s=4.0"


def test_figures_within_their_targets_pass() -> None:
    assert missed("load:", LOAD) == []
    assert missed("scale:", SCALE) == []


def test_a_figure_over_its_target_is_named() -> None:
    assert missed("load:", LOAD.replace("cross_tenant=0", "cross_tenant=2")) == ["cross_tenant=2.0 (target = 0)"]
    assert missed("scale:", SCALE.replace("1.17x", "1.35x").replace("tenants=10000", "tenants=2920")) == [
        "tenants=2920.0 (target >= 10000)",
        "p95_ratio_10k_vs_10=1.35 (target <= 1.2)",
    ]


def test_a_missing_line_or_figure_misses_every_target() -> None:
    assert missed("load:", "") == [
        "errors_5xx=missing (target = 0)",
        "cross_tenant=missing (target = 0)",
        "lost_writes=missing (target = 0)",
    ]
    assert missed("scale:", SCALE.replace(" noop_migrate_s=4.0", "")) == ["noop_migrate_s=missing (target <= 60)"]


def test_make_proof_fails_on_a_missed_target_even_when_every_step_passed(monkeypatch: Any) -> None:

    lines = {"load:": LOAD, "passed": "12 passed in 25.34s", "scale:": SCALE}
    monkeypatch.setattr(proof, "run", lambda label, command, marker: (True, 1.0, lines[marker]))
    monkeypatch.setattr(sys, "argv", ["proof.py"])
    assert proof.main() == 0

    lines["scale:"] = SCALE.replace("1.17x", "1.35x")
    assert proof.main() == 1
