"""Helpers of the service tests: the app on a real store, keys, users, benign pictures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from tests.store_copies import migrated_copy

from ohsc.accounts.roles import Role
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.settings import Settings
from ohsc.store.all_models import metadata
from ohsc.store.db import Store, normalise_url
from ohsc.web.app import create_app
from ohsc.web.services import Services

PASSWORD = "a long test password"


def image(seed: int) -> bytes:
    """A benign generated picture (shapes over colour fields) as JPEG."""
    return jpeg_bytes(picture(seed, (320, 240)))


def empty_tables(url: str) -> None:
    engine: Engine = create_engine(normalise_url(url))
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@dataclass
class Env:
    """One app on one store, with helpers."""

    settings: Settings
    store: Store
    app: FastAPI
    client: TestClient
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def key(self, *scopes: str) -> dict[str, str]:
        """Headers with an API key holding ``scopes`` (default: all)."""
        wanted = scopes or ("match", "bank-admin", "review")
        name = "+".join(sorted(wanted))
        if name not in self.keys:
            self.keys[name] = self.services.accounts.create_api_key(f"test {name}", wanted).secret
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def user(self, name: str, role: Role | str = Role.REVIEWER) -> int:
        return self.services.accounts.create_user(name, role, PASSWORD).id

    def refresh(self) -> None:
        matcher = self.services.matcher
        assert matcher is not None
        matcher.refresh()

    def bank(self, name: str, **fields: Any) -> dict[str, Any]:
        r = self.client.post("/v1/banks", json={"name": name, **fields}, headers=self.key())
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def add_image(self, bank: str, seed: int, **fields: str) -> dict[str, Any]:
        r = self.client.post(
            f"/v1/banks/{bank}/entries",
            files={"file": ("x.jpg", image(seed))},
            data=fields,
            headers=self.key(),
        )
        assert r.status_code == 200, r.text
        self.refresh()
        body: dict[str, Any] = r.json()
        return body

    def match_image(
        self, seed: int, content_id: str | None = None, data: bytes | None = None
    ) -> dict[str, Any]:
        form = {"content_id": content_id} if content_id else {}
        r = self.client.post(
            "/v1/match", files={"file": ("u.jpg", data or image(seed))}, data=form, headers=self.key("match")
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def login(self, client: TestClient, name: str, password: str = PASSWORD) -> str:
        """Log in with the form; returns the CSRF token of the session."""
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        home = client.get("/review" if "auditor" not in name else "/audit")
        return home.text.split('data-csrf="', 1)[1].split('"', 1)[0] if 'data-csrf="' in home.text else ""


def make_env(settings: Settings, **app_args: Any) -> Iterator[Env]:
    url = make_url(settings.effective_database_url())
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        migrated_copy(Path(url.database))  # a copy of a store migrated once per test process
    store = Store.from_settings(settings)
    app = create_app(settings, store=store, background=False, **app_args)
    app.state.services.load_indexes()
    with TestClient(app, base_url="http://testserver") as client:
        yield Env(settings=settings, store=store, app=app, client=client)
    store.dispose()
