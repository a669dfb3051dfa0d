"""Numbers people or programs send (ids in paths, query values, form fields) are ASCII digits:
``²``, Arabic-Indic or mathematical digits are refused with a 4xx, never a 500. A sweep over every
route of the app, with an admin session and an API key holding every scope, so each handler is
reached past its authentication; objects with id 1 exist so handlers get past their lookups."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from svc_helpers import Env, make_env

from ohsc.accounts.roles import Role
from ohsc.settings import load_settings
from ohsc.store.types import ascii_int
from ohsc.web.routes import walk_routes

#: superscript two (isdigit but not a decimal), Arabic-Indic three, mathematical bold nine,
#: a fraction, a mixed one, full-width digits, and a media grant's shape (expiry.mac)
ODD_NUMBERS = ("²", "٣", "𝟗", "½", "1²", "１２", "²." + "0" * 64)
#: query and form names read by handlers themselves (not declared as parameters)
LOOSE_NAMES = (
    "days", "limit", "cursor", "status", "grant", "report", "report_id", "review_item_id", "version",
    "priority", "object", "entry_id", "item_id", "since", "until", "locale", "next", "then", "_remove",
    "_add", "reason", "decision", "target", "mode", "pow", "token", "category", "format", "name",
)  # fmt: skip
ALL_SCOPES = ("match", "bank-admin", "review", "report", "deterrence")


@pytest.fixture
def full_env(tmp_path: Path) -> Any:
    settings = load_settings(
        home=tmp_path / "home",
        apikey_cache_seconds=0,
        report_destinations={"*": ["local-folder"]},
        report_default_jurisdictions=["US"],
    )
    yield from make_env(settings)


def _objects(env: Env, key: dict[str, str]) -> None:
    """A bank with an entry, a review item, a report draft, a help service: each id 1."""
    env.bank("b1")
    env.add_image("b1", 3)
    env.match_image(3)
    assert env.client.post("/v1/reports", json={}, headers=key).status_code == 201
    assert env.client.post(
        "/v1/rules", json={"bank": "b1", "verdict": "review"}, headers=key
    ).status_code in (200, 201)


def _api_body(route: Any, value: str) -> dict[str, Any]:
    """The route's JSON body model with every field set to ``value`` (plus the loose names)."""
    body: dict[str, Any] = {} if route.dependant.body_params else {n: value for n in LOOSE_NAMES}
    for param in route.dependant.body_params:
        model = param.field_info.annotation
        for name in getattr(model, "model_fields", {}):
            body[name] = value
    return body


def _fill(path: str, value: str, which: str | None) -> str:
    def one(m: re.Match[str]) -> str:
        return value if which is None or m.group(1) == which else "1"

    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", one, path)


def test_odd_digits_never_give_a_500(full_env: Env) -> None:
    env = full_env
    key = {"Authorization": "Bearer " + env.services.accounts.create_api_key("all", ALL_SCOPES).secret}
    _objects(env, key)
    env.user("root", Role.ADMIN)
    ui = TestClient(env.app, base_url="http://testserver", raise_server_exceptions=False)
    csrf = env.login(ui, "root")
    api = TestClient(env.app, base_url="http://testserver", raise_server_exceptions=False)
    failures: list[str] = []
    tried = 0
    for route in walk_routes(env.app):
        params = re.findall(r"\{([^}:]+)", route.path)
        declared = [p.name for p in route.dependant.query_params]
        for method in sorted(route.methods - {"HEAD"}):
            if route.path == "/logout":
                continue  # the sweep's session must live on
            for value in ODD_NUMBERS:
                for which in [*params, "query"]:
                    path = _fill(route.path, value, which if which != "query" else "")
                    query = {n: value for n in (*declared, *LOOSE_NAMES)} if which == "query" else {}
                    is_api = route.path.startswith("/v1/")
                    client = api if is_api else ui
                    kwargs: dict[str, Any] = {"params": query, "follow_redirects": False}
                    if is_api:
                        kwargs["headers"] = {**key, "X-CSRF-Token": csrf}
                    if method in ("POST", "PUT", "PATCH"):
                        fields = {n: value for n in LOOSE_NAMES}
                        if is_api:
                            kwargs["json"] = _api_body(route, value)
                        else:
                            kwargs["data"] = {**fields, "csrf_token": csrf}
                    r = client.request(method, path, **kwargs)
                    tried += 1
                    if r.status_code >= 500:
                        failures.append(f"{method} {path} {query and 'query'} -> {r.status_code}")
    assert tried > 500
    assert not failures, "\n".join(sorted(set(failures)))


def test_known_places_refuse_odd_digits(full_env: Env) -> None:
    """The five routes that answered 500, one by one (each failed before the fix)."""
    env = full_env
    key = {"Authorization": "Bearer " + env.services.accounts.create_api_key("all", ALL_SCOPES).secret}
    _objects(env, key)
    env.user("root", Role.ADMIN)
    ui = TestClient(env.app, base_url="http://testserver", raise_server_exceptions=False)
    csrf = env.login(ui, "root")
    api = TestClient(env.app, base_url="http://testserver", raise_server_exceptions=False)
    assert api.get("/v1/banks/²", headers=key).status_code == 404
    assert api.get("/v1/banks/١", headers=key).status_code == 404  # Arabic-Indic one is not bank 1
    for ref in ("²", "%23²"):
        r = api.post(f"/v1/banks/b1/entries/{ref}/retract", json={"reason": "x"}, headers=key)
        assert r.status_code == 404, r.text
    assert ui.get("/review/items/1/media", params={"grant": "²." + "0" * 10}).status_code in (403, 404)
    assert ui.get("/prevention", params={"days": "²"}).status_code == 200
    r = ui.post("/reports", data={"csrf_token": csrf, "review_item_id": "1", "report_id": "²"})
    assert r.status_code < 500, r.text
    r = ui.post("/reports/1/save", data={"csrf_token": csrf, "version": "²"})
    assert r.status_code < 500, r.text


def test_ascii_int() -> None:
    assert ascii_int("42") == 42
    assert ascii_int(" 7 ") is None
    for odd in (*ODD_NUMBERS, "", "-1", "+1", "1e3", "0x10", "9" * 40, None):
        assert ascii_int(odd) is None, odd


def test_vics_export_of_odd_digit_ids_and_categories(full_env: Env) -> None:
    env = full_env
    env.bank("v")
    entries = [
        {"signal_type": "md5", "value": f"{i:032x}", "external_id": ext, "category": cat}
        for i, (ext, cat) in enumerate([("²", "vics:²"), ("١٢", "vics:٣"), ("7", "vics:1")], 1)
    ]
    r = env.client.post("/v1/banks/v/entries", json={"entries": entries}, headers=env.key())
    assert r.status_code == 200, r.text
    r = env.client.get("/v1/banks/v/export", params={"format": "vics"}, headers=env.key())
    assert r.status_code == 200, r.text
    media = {m["MD5"].lower(): m for m in r.json()["value"]}
    assert media[f"{1:032x}"]["MediaID"] == "²" and media[f"{1:032x}"]["Category"] is None
    assert media[f"{2:032x}"]["MediaID"] == "١٢" and media[f"{2:032x}"]["Category"] is None
    assert media[f"{3:032x}"]["MediaID"] == 7 and media[f"{3:032x}"]["Category"] == 1
