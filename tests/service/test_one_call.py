"""Thin shells: an action through the CLI and through the API is one library call, with the same
result and the same audit events."""

from __future__ import annotations

import json

from click.testing import CliRunner
from svc_helpers import Env

from ohsc.cli import main


def _cli(env: Env) -> CliRunner:
    return CliRunner(
        env={"OHSC_HOME": str(env.settings.home), "OHSC_DATABASE_URL": env.settings.database_url}
    )


def test_the_match_log_is_one_query_for_the_cli_and_the_api(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 1, external_id="ext-1")
    env.add_image("known", 2, external_id="ext-2")
    env.match_image(1, content_id="upload-1")
    env.match_image(2, content_id="upload-2")
    env.match_image(7, content_id="unrelated")
    api = env.client.get("/v1/matches?bank=known&limit=10", headers=env.key("review")).json()["items"]
    # newest first; one row per matching signal (MD5, SHA-1, SHA-256, PDQ of the same upload)
    uploads = [m["client_content_id"] for m in api]
    assert list(dict.fromkeys(uploads)) == ["upload-2", "upload-1"]

    result = _cli(env).invoke(main, ["matches", "--bank", "known", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == api

    older = _cli(env).invoke(
        main, ["matches", "--json", "--before", str(api[0]["match_id"])], catch_exceptions=False
    )
    assert json.loads(older.output) == api[1:]
    table = _cli(env).invoke(main, ["matches", "--verdict", "block"], catch_exceptions=False)
    assert table.exit_code == 0
