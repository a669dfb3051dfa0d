"""The README walkthrough, end to end on the embedded store: demo pictures, an admin, a key, the
example hash list imported, matches by upload and by hash, the queue, and an intact audit log."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from svc_helpers import PASSWORD, make_env

from ohsc.cli import main
from ohsc.demo import prepare
from ohsc.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def _first_md5() -> str:
    return (REPO / "examples" / "known-hashes.csv").read_text().splitlines()[1].split(",")[1]


KNOWN_MD5 = _first_md5()


def test_readme_walkthrough(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OHSC_HOME": str(tmp_path / "home")}
    demo = tmp_path / "demo"
    prepare(demo)  # what `ohsc demo --dir demo` writes (without running its scan)
    assert (
        runner.invoke(
            main, ["user", "create", "admin", "--role", "admin"], input=f"{PASSWORD}\n", env=env
        ).exit_code
        == 0
    )
    created = runner.invoke(
        main,
        ["apikey", "create", "platform", "--scope", "match", "--scope", "bank-admin", "--scope", "review"],
        env=env,
    )
    key = created.stdout.strip()
    assert runner.invoke(main, ["bank", "create", "known"], env=env).exit_code == 0
    imported = runner.invoke(
        main, ["bank", "import", "known", str(REPO / "examples" / "known-hashes.csv")], env=env
    )
    assert imported.exit_code == 0, imported.output
    assert "24 added" in imported.output
    settings = load_settings(home=tmp_path / "home")
    for app_env in make_env(settings):
        headers = {"Authorization": f"Bearer {key}"}
        upload = (demo / "inbox" / "uploads" / "00-resized-half.jpg").read_bytes()
        r = app_env.client.post(
            "/v1/match", files={"file": ("u.jpg", upload)}, data={"content_id": "upload-1"}, headers=headers
        )
        body = r.json()
        assert body["verdict"] == "review"
        assert body["matches"][0]["external_id"] == "demo-00"
        assert body["review_item_id"]
        r = app_env.client.post(
            "/v1/match",
            json={"content_id": "upload-2", "signals": {"md5": KNOWN_MD5}},
            headers=headers,
        )
        assert r.json()["matched"] is True
        for known in sorted((demo / "known").glob("known-*.jpg")):
            r = app_env.client.post(
                "/v1/hash", files={"file": ("k.jpg", known.read_bytes())}, headers=headers
            )
            md5 = r.json()["signals"]["md5"]
            assert md5 in (REPO / "examples" / "known-hashes.csv").read_text(), known.name
        csrf = app_env.login(app_env.client, "admin")
        nxt = app_env.client.post("/review/next", data={"csrf_token": csrf}, follow_redirects=False)
        assert nxt.headers["location"].startswith("/review/items/")
        item_id = int(nxt.headers["location"].rsplit("/", 1)[1])
        decided = app_env.client.post(
            f"/review/items/{item_id}/decide",
            data={"csrf_token": csrf, "decision": "confirm"},
            follow_redirects=False,
        )
        assert decided.status_code == 303
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output
