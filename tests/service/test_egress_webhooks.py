"""Webhooks never reach internal addresses unless an operator allows them (OHSC_EGRESS_ALLOW):
refused when created (API and CLI) and again when sent, after resolving the name once (DNS
rebinding); the delivery log keeps status and identifiers only. Every server here is a loopback
server the test starts; the ones that must not be reached are asserted to have got nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from svc_helpers import Env, make_env
from svc_loopback import Reply, loopback_server

from ohsc.actions.models import DeliveryRow, OutboxRow, WebhookRow
from ohsc.actions.sealing import content_key, seal
from ohsc.actions.webhooks import Dispatcher, WebhookService
from ohsc.cli import main
from ohsc.errors import EgressRefusedError, EgressResolveError
from ohsc.settings import Settings, load_settings
from ohsc.store.types import utcnow

#: the encoded forms of internal addresses named in issue 10 (ports are irrelevant: never reached)
REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://127.0.0.1:9/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://localhost./hook",
    "http://127.0.0.1./hook",
]


@pytest.fixture
def default_env(svc_settings: Settings) -> Iterator[Env]:
    """The service with the default egress policy (nothing internal allowed)."""
    yield from make_env(svc_settings)


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_creating_a_webhook_to_an_internal_address_is_refused(default_env: Env, url: str) -> None:
    r = default_env.client.post("/v1/webhooks", json={"name": "x", "url": url}, headers=default_env.key())
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "egress_refused"
    assert "OHSC_EGRESS_ALLOW" in r.json()["detail"]
    assert default_env.client.get("/v1/webhooks", headers=default_env.key()).json()["items"] == []


def test_cli_refuses_internal_webhooks_with_a_clear_message(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OHSC_HOME": str(tmp_path / "home")}
    r = runner.invoke(main, ["webhook", "create", "meta", "http://0xa9fea9fe/latest"], env=env)
    assert r.exit_code == 2, r.output
    assert "169.254.169.254 is a link-local address" in r.output
    assert "OHSC_EGRESS_ALLOW" in r.output
    ok = runner.invoke(
        main,
        ["webhook", "create", "local", "http://127.0.0.1:9/hook", "--event", "match.created"],
        env={**env, "OHSC_EGRESS_ALLOW": "127.0.0.1/32"},
    )
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(main, ["webhook", "list", "--json"], env=env)
    assert '"url": "http://127.0.0.1:9/hook"' in listed.output
    assert runner.invoke(main, ["webhook", "delete", "1"], env=env).exit_code == 0


def _queue(env: Env, url: str) -> int:
    """A webhook row written directly (as one created before this check existed) with one event due."""
    with env.store.session() as s:
        hook = WebhookRow(
            name="old",
            url=url,
            secret_sealed=seal(content_key(env.settings), "s" * 32),
            event_types=["*"],
            created_by="test",
        )
        s.add(hook)
        s.flush()
        s.add(OutboxRow(webhook_id=hook.id, event_id="e1", event_type="match.created", payload={"a": 1},
                        next_attempt_at=utcnow()))  # fmt: skip
        return hook.id


def _log(env: Env) -> list[DeliveryRow]:
    with env.store.session() as s:
        return list(s.query(DeliveryRow).order_by(DeliveryRow.id))


def test_an_existing_webhook_to_loopback_is_not_reached(default_env: Env) -> None:
    with loopback_server(lambda _r: Reply(body=b"internal secret page")) as server:
        hook_id = _queue(default_env, server.url + "/hook")
        dispatcher = Dispatcher(default_env.store, default_env.settings)
        try:
            assert dispatcher.deliver_due() == 1
        finally:
            dispatcher.close()
        assert server.received == []
    [entry] = _log(default_env)
    assert entry.status_code is None
    assert entry.error is not None and entry.error.startswith("egress_refused:")
    assert "loopback" in entry.error and "internal secret page" not in entry.error
    log = default_env.client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=default_env.key()).json()
    assert log["items"][0]["ok"] is False


def _counting(answers: list[list[str]]) -> tuple[list[str], object]:
    """A resolver for ``hooks.test`` giving ``answers`` in turn (then the last one again)."""
    calls: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        if host != "hooks.test":
            raise EgressResolveError(f"cannot resolve {host}")
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    return calls, resolver


def test_delivery_resolves_once_and_connects_to_the_checked_address(tmp_path: Path) -> None:
    """DNS rebinding: the first answer (allowed) is the address used; a later answer (internal,
    not allowed) is never asked for, and its server gets nothing."""
    settings = load_settings(home=tmp_path / "home", egress_allow="127.0.0.1/32", apikey_cache_seconds=0)
    for env in make_env(settings):
        with loopback_server() as allowed, loopback_server(host="127.0.0.2", port=allowed.port) as other:
            calls, resolver = _counting([["127.0.0.1"], ["127.0.0.2"]])
            _queue(env, f"http://hooks.test:{allowed.port}/hook")
            dispatcher = Dispatcher(env.store, env.settings, resolver=resolver)  # type: ignore[arg-type]
            try:
                assert dispatcher.deliver_due() == 1
            finally:
                dispatcher.close()
            assert calls == ["hooks.test"]
            assert [r.path for r in allowed.received] == ["/hook"]
            assert allowed.received[0].headers["host"] == f"hooks.test:{allowed.port}"
            assert other.received == []
        [entry] = _log(env)
        assert (entry.status_code, entry.error) == (200, None)


def test_a_name_that_rebinds_to_an_internal_address_is_refused_at_send_time(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", egress_allow="127.0.0.1/32", apikey_cache_seconds=0)
    for env in make_env(settings):
        with loopback_server() as allowed, loopback_server(host="127.0.0.2", port=allowed.port) as other:
            # created while the name answered with an allowed address; now it answers 127.0.0.2
            _calls, resolver = _counting([["127.0.0.1"], ["127.0.0.1", "127.0.0.2"]])
            hooks = WebhookService(env.store, env.settings, resolver=resolver)  # type: ignore[arg-type]
            hooks.create("rebind", f"http://hooks.test:{allowed.port}/hook", ["*"])
            with env.store.session() as s:
                hook = s.query(WebhookRow).one()
                s.add(OutboxRow(webhook_id=hook.id, event_id="e2", event_type="match.created", payload={},
                                next_attempt_at=utcnow()))  # fmt: skip
            dispatcher = Dispatcher(env.store, env.settings, resolver=resolver)  # type: ignore[arg-type]
            try:
                assert dispatcher.deliver_due() == 1
            finally:
                dispatcher.close()
            assert allowed.received == [] and other.received == []
        [entry] = _log(env)
        assert entry.status_code is None
        assert entry.error is not None and "hooks.test resolves to a loopback address" in entry.error
        with pytest.raises(EgressRefusedError):
            hooks.create("again", f"http://hooks.test:{allowed.port}/hook", ["*"])


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", egress_allow="127.0.0.1/32", apikey_cache_seconds=0)
    redirect = Reply(302, b"moved", {"Location": "http://169.254.169.254/latest/meta-data/"})
    for env in make_env(settings):
        with loopback_server(lambda _r: redirect) as server:
            _queue(env, server.url + "/hook")
            dispatcher = Dispatcher(env.store, env.settings)
            try:
                dispatcher.deliver_due()
            finally:
                dispatcher.close()
            assert len(server.received) == 1
        [entry] = _log(env)
        assert (entry.status_code, entry.error) == (302, "HTTP 302")


def test_connection_errors_are_logged_without_their_text(tmp_path: Path) -> None:
    """What a refused connection says (addresses, errno text) stays out of the delivery log."""
    settings = load_settings(home=tmp_path / "home", egress_allow="127.0.0.1/32", apikey_cache_seconds=0)
    for env in make_env(settings):
        with loopback_server() as server:
            port = server.port
        _queue(env, f"http://127.0.0.1:{port}/hook")  # nothing listens there any more
        dispatcher = Dispatcher(env.store, env.settings)
        try:
            dispatcher.deliver_due()
        finally:
            dispatcher.close()
        [entry] = _log(env)
        assert entry.status_code is None
        assert entry.error == "ConnectError"
