"""Bank administration pages without a browser: refusals of the import form (a file whose format
cannot be told, a hash list that stops the import: the run ends ``failed`` in the background),
and addresses that name nothing (404)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from svc_helpers import PASSWORD, Env

from ohsc.accounts.roles import Role


def _admin(env: Env) -> tuple[TestClient, str]:
    env.user("ada", Role.ADMIN)
    client = TestClient(env.app, base_url="http://testserver")
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login", data={"name": "ada", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get("/admin/banks")
    return client, page.text.split('data-csrf="', 1)[1].split('"', 1)[0]


def _import(client: TestClient, token: str, bank_id: int, name: str, data: bytes, fmt: str = "") -> str:
    r = client.post(
        f"/admin/banks/{bank_id}/import",
        data={"csrf_token": token, "format": fmt},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_import_refusals_and_a_failed_run(env: Env) -> None:
    client, token = _admin(env)
    bank_id = env.bank("placeholder-list")["id"]
    where = _import(client, token, bank_id, "list.bin", b"md5,0\n")
    error = parse_qs(urlsplit(where).query)["error"][0]
    assert "cannot tell the format of list.bin" in error
    assert error in client.get(where).text
    assert env.services.banks("t").import_runs(bank_id) == []

    deep = b"[" * 200 + b"]" * 200  # deeper than OHSC_IMPORT_MAX_DEPTH: the reader stops
    where = _import(client, token, bank_id, "deep.json", deep, fmt="vics")
    assert "/imports/" in where
    env.services.tasks.wait(60)
    page = client.get(where)
    assert 'data-status="failed"' in page.text
    [run] = env.services.banks("t").import_runs(bank_id)
    assert (run.status, run.source_name, run.bytes_total) == ("failed", "deep.json", len(deep))
    fragment = client.get(where + "/progress")
    assert fragment.status_code == 200 and "hx-get" not in fragment.text  # no more polling


def test_addresses_that_name_nothing(env: Env) -> None:
    client, token = _admin(env)
    bank_id = env.bank("placeholder-list")["id"]
    other = env.bank("other")["id"]
    assert client.get("/admin/banks/999").status_code == 404
    assert client.get(f"/admin/banks/{bank_id}/imports/999").status_code == 404
    run = _import(client, token, other, "l.csv", b"signal_type,value\nmd5,00000000000000000000000000000001\n")
    env.services.tasks.wait(60)
    run_id = run.rsplit("/", 1)[1]
    assert client.get(f"/admin/banks/{bank_id}/imports/{run_id}").status_code == 404
    assert client.get(f"/admin/banks/{bank_id}/export?format=ncmec-xml").status_code == 422
    r = client.post(
        f"/admin/banks/{bank_id}/retract",
        data={"csrf_token": token, "ref": "nope", "reason": "x"},
        follow_redirects=False,
    )
    assert "error=" in r.headers["location"]
