"""A shortcut for the hot path: hash-only ``POST /v1/match`` as a plain ASGI handler.

It answers exactly what the ``/v1/match`` route answers, but skips routing and dependency
resolution. It only takes requests it can finish the ordinary way: a JSON body with signals, an
API key already checked by this process, nothing unusual. Anything else (no or unknown key,
a URL, invalid input, not ready yet, rate limited) goes on to the route unchanged, body and all,
which then answers with the usual checks and problem documents.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ohsc.accounts.roles import Scope as KeyScope
from ohsc.content.model import Submission
from ohsc.errors import OhscError
from ohsc.submissions.service import validate_signals
from ohsc.web.api.schemas import MatchIn

PATH = "/v1/match"
MAX_BODY = 64 * 1024


class MatchFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        auth = headers.get(b"authorization", b"")
        if content_type != b"application/json" or auth[:7].lower() != b"bearer ":
            await self.app(scope, receive, send)
            return
        body, messages = await _read(receive)
        if body is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        handled = await self._try(scope, auth[7:].decode("latin-1").strip(), body, send)
        if not handled:
            await self.app(scope, _replay(messages, receive), send)

    async def _try(self, scope: Scope, secret: str, body: bytes, send: Send) -> bool:
        services = scope["app"].state.services
        client = services.accounts.cached_client(secret)
        if client is None or KeyScope.MATCH not in client.scopes or services.matcher is None:
            return False
        try:
            request = MatchIn.model_validate_json(body)
            if request.signals is None or request.url is not None:
                return False
            signals = validate_signals(request.signals)
            services.match_limit.take(client.prefix)
        except (ValidationError, OhscError):
            return False  # the route answers with the proper problem document
        sub = Submission(
            signals=signals,
            source="signals",
            pdq_quality=request.pdq_quality,
            approximate_dihedral=request.dihedral,
            client_ref=request.content_id,
            api_key_id=client.key_id,
        )
        try:
            result = await services.content(client.actor).submit_async(sub, actor=client.actor)
        except OhscError:
            return False  # nothing was recorded; the route tries again and answers the problem
        services.extras["fastpath_answers"] = int(services.extras.get("fastpath_answers", 0)) + 1
        payload = json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        return True


async def _read(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is too big for the shortcut), and the messages to replay."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_BODY:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
