"""The public URL report form (``/report-url``): anyone may report where they saw abuse material.

It has the tip form's defences (:mod:`ohsc.prevention.tips`): a signed single-use token that must
be a few seconds old, a proof of work solved by the page's script, a honeypot field, and rate
limits per client network counted under a salt deleted after a day. No address, name or other
detail of who reported is kept: the URL's source is ``public``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from ohsc.errors import ChallengeError
from ohsc.prevention.counters import CounterBuffer
from ohsc.prevention.tips import TipChallenge, TipService
from ohsc.removal.frontier import Frontier
from ohsc.settings import Settings
from ohsc.store.db import Store

#: the form's subject in its signed token (the tip form's tokens name an object instead)
SUBJECT = "75726c2d7265706f"
FORM = "url-report"


@dataclass(frozen=True, slots=True)
class UrlReceipt:
    #: False for a honeypot submission (silently dropped: show the same thanks)
    stored: bool


class PublicUrlForm:
    def __init__(self, store: Store, settings: Settings, *, counters: CounterBuffer | None = None) -> None:
        self.store = store
        self.settings = settings
        self.tips = TipService(store, settings, counters=counters)
        self.frontier = Frontier(store, settings, actor="public")

    def challenge(self) -> TipChallenge:
        return self.tips.challenge(SUBJECT)

    def submit(
        self,
        url: str,
        *,
        token: str,
        pow_nonce: str = "",
        honeypot: str = "",
        client_address: str | None = None,
        note: str = "",
    ) -> UrlReceipt:
        """Queue a reported URL. Raises ChallengeError, RateLimitedError, InvalidInputError or
        EgressRefusedError (an internal address)."""
        expires = self.tips.verify_form(SUBJECT, token, pow_nonce)
        checked = self.frontier.check(url)  # a bad URL does not spend the token
        try:
            with self.store.session() as s:
                self.tips.spend_form(
                    s, form=FORM, token=token, expires=expires, client_address=client_address
                )
        except IntegrityError:
            raise ChallengeError("this form was already sent; please load the page again") from None
        if honeypot:
            return UrlReceipt(stored=False)
        self.frontier.add([checked], source="public", reporter="public", note=note[:500])
        return UrlReceipt(stored=True)
