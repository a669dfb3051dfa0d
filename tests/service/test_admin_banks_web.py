"""Bank administration pages without a browser: refusals of the import form (a file whose format
cannot be told, a hash list that stops the import: the run ends ``failed`` in the background),
and addresses that name nothing (404)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from svc_helpers import PASSWORD, Env

from ohsc.accounts.roles import Role
from ohsc.store.models import AuditEvent


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


def test_delete_a_bank_after_the_confirmation_step(env: Env) -> None:
    client, token = _admin(env)
    keep = env.bank("placeholder-keep")["id"]
    bank_id = env.bank("placeholder-gone")["id"]
    env.client.post(
        "/v1/banks/placeholder-gone/entries",
        json={"entries": [{"signal_type": "md5", "value": f"{i:032x}"} for i in range(3)]},
        headers=env.key(),
    )
    page = client.get(f"/admin/banks/{bank_id}").text
    assert f'href="/admin/banks/{bank_id}/delete"' in page
    assert f'href="/admin/rules#policy-{bank_id}"' in page  # the bank's policy
    current = '<a href="/admin/banks" aria-current="page">Banks</a>'  # the admin sub-navigation
    assert current in page and current in client.get("/admin/banks").text
    assert f'id="policy-{bank_id}"' in client.get("/admin/rules").text  # where the link lands
    confirm = client.get(f"/admin/banks/{bank_id}/delete")
    assert confirm.status_code == 200 and '<strong id="delete-count">3</strong>' in confirm.text
    assert current in confirm.text
    # the name typed wrong (or not at all): nothing deleted, the confirmation page says why
    for typed in ("placeholder-keep", ""):
        r = client.post(
            f"/admin/banks/{bank_id}/delete",
            data={"csrf_token": token, "confirm_name": typed},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith(f"/admin/banks/{bank_id}/delete?")
        assert "Type the bank" in client.get(r.headers["location"]).text
    assert (
        client.post(f"/admin/banks/{bank_id}/delete", data={"confirm_name": "placeholder-gone"}).status_code
        == 403
    )
    assert {b.id for b in env.services.banks("t").list_banks()} == {keep, bank_id}
    r = client.post(
        f"/admin/banks/{bank_id}/delete",
        data={"csrf_token": token, "confirm_name": "placeholder-gone"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Bank placeholder-gone deleted with its 3 entries." in client.get(r.headers["location"]).text
    assert {b.id for b in env.services.banks("t").list_banks()} == {keep}
    assert client.get(f"/admin/banks/{bank_id}/delete").status_code == 404
    with env.store.session() as s:
        [event] = s.query(AuditEvent).filter_by(action="bank.delete").all()
        assert (event.actor, event.object_id, event.details) == (
            "user:ada",
            str(bank_id),
            {"name": "placeholder-gone", "entries": 3},
        )
