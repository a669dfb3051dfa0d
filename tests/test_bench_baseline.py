"""The service benchmark fails loudly below its recorded match/reference ratio (issue 10, item 10).

Fed made-up reports, no timing: ``docs/benchmarks.md`` recorded two processes at 0.24 x the
reference while they served 0.03 x, and nothing noticed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("service_baseline", BENCH / "service_baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["service_baseline"] = module
    spec.loader.exec_module(module)
    return module


sb = _module()

BASELINE = {"tolerance": 0.5, "ratios": {"sqlite/200000/workers=2": {"ratio": 0.24}}}


def report(
    match: float, reference: float, *, workers: int = 2, statuses: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "store": "sqlite",
        "args": {"entries": 200000, "workers": workers},
        "reference_health_live": {"requests_per_s": reference},
        "match_maximum": {
            "requests_per_s": match,
            "statuses": statuses if statuses is not None else {"200": int(match * 15)},
        },
        "ratio_match_to_reference": round(match / reference, 3),
    }


def test_the_regression_of_the_issue_fails() -> None:
    verdict = sb.check(report(176.0, 5600.0), BASELINE)  # 0.03 x, the issue's two processes
    assert not verdict.ok
    assert verdict.message.startswith("REGRESSION")
    assert "0.031" in verdict.message and "floor 0.120" in verdict.message


def test_a_run_within_the_tolerance_passes() -> None:
    verdict = sb.check(report(700.0, 5000.0), BASELINE)  # 0.14 x: noisy, but above half of 0.24
    assert verdict.ok, verdict.message
    assert verdict.message.startswith("ok")


def test_just_below_the_floor_fails() -> None:
    assert not sb.check(report(119.0, 1000.0), BASELINE).ok
    assert sb.check(report(120.0, 1000.0), BASELINE).ok


def test_errors_answered_quickly_do_not_pass() -> None:
    verdict = sb.check(report(5000.0, 5000.0, statuses={"200": 10, "503": 9000}), BASELINE)
    assert not verdict.ok
    assert "not 200" in verdict.message


def test_an_unrecorded_configuration_is_reported_not_failed() -> None:
    verdict = sb.check(report(10.0, 5000.0, workers=3), BASELINE)
    assert verdict.ok
    assert "not checked" in verdict.message


def test_the_recorded_baseline_is_well_formed() -> None:
    recorded = sb.load()
    assert 0 < recorded["tolerance"] < 1
    for key, entry in recorded["ratios"].items():
        store, entries, workers = key.split("/")
        assert store in {"sqlite", "postgresql"} and int(entries) > 0 and workers.startswith("workers=")
        assert 0 < entry["ratio"] < 1


@pytest.mark.parametrize(("match", "code"), [(176.0, 1), (1200.0, 0)])
def test_the_benchmark_exits_non_zero_below_the_floor(tmp_path: Path, match: float, code: int) -> None:
    """The script's own exit path, driven by a stored report instead of a live server."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(BASELINE))
    stored = tmp_path / "report.json"
    stored.write_text(json.dumps(report(match, 5000.0)))
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_service.py"),
            "--check-report",
            str(stored),
            "--baseline",
            str(baseline),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == code, run.stderr
    assert ("REGRESSION" in run.stderr) == bool(code)
