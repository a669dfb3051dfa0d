"""The recorded floor of ``bench_service.py``, and the check that fails a run below it.

Absolute requests/s say little on a shared machine, so the record is the ratio of closed-loop
``POST /v1/match`` to ``GET /health/live`` measured in the same run (the same server, client
and cores), per store, bank size and number of server processes, in
``benchmarks/service_baseline.json``. A run fails (exit status 1, a message saying what fell)
when its ratio is below the recorded one less the tolerance, or when its match answers were
not 200s (a server that answers errors quickly must not pass).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).with_name("service_baseline.json")
#: more than this share of match answers other than 200 fails the run
MAX_ERROR_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    message: str


def baseline_key(store: str, entries: int, workers: int) -> str:
    return f"{store}/{entries}/workers={workers}"


def load(path: Path = BASELINE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def check(report: dict[str, Any], baseline: dict[str, Any]) -> Verdict:
    """Compare one run's report (what ``bench_service.py`` writes) with the record."""
    args = report["args"]
    key = baseline_key(report["store"], int(args["entries"]), int(args["workers"]))
    maximum = report["match_maximum"]
    statuses = {int(k): int(v) for k, v in maximum["statuses"].items()}
    answered = sum(statuses.values())
    errors = answered - statuses.get(200, 0)
    if answered == 0 or errors > MAX_ERROR_SHARE * answered:
        return Verdict(
            False,
            f"FAILED: {errors} of {answered} /v1/match answers were not 200 ({statuses}): "
            "the figures measure errors, not matching",
        )
    ratio = float(report["ratio_match_to_reference"])
    match_rps = maximum["requests_per_s"]
    ref_rps = report["reference_health_live"]["requests_per_s"]
    recorded = baseline.get("ratios", {}).get(key)
    if recorded is None:
        return Verdict(
            True, f"no recorded ratio for {key} in {BASELINE.name}: not checked (ratio {ratio:.3f})"
        )
    tolerance = float(baseline["tolerance"])
    floor = float(recorded["ratio"]) * (1.0 - tolerance)
    summary = (
        f"/v1/match {match_rps} req/s = {ratio:.3f} x /health/live ({ref_rps} req/s) for {key}; "
        f"recorded {recorded['ratio']:.3f}, floor {floor:.3f} (tolerance {tolerance:.0%})"
    )
    if ratio < floor:
        return Verdict(
            False,
            f"REGRESSION: {summary}. The match path got slower against the HTTP stack, or server "
            "processes stopped scaling; see docs/benchmarks.md (Service) before changing the record.",
        )
    return Verdict(True, f"ok: {summary}")
