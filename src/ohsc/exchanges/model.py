"""What an exchange hands over, and the interface every kind of exchange implements.

In the spirit of python-threatexchange's ``SignalExchangeAPI``: an exchange is fetched from a
*checkpoint* (a small JSON object only the exchange understands) and yields pages of
:class:`ExchangeRecord`; each page carries the checkpoint that resumes after it. OHSC commits a
page's records and its checkpoint in the same transaction (a few pages may share one), so the
checkpoint never runs ahead of what was applied: a fetch that dies mid-way resumes at the last
committed page.

A record is one *source entry* of the exchange (an NCMEC entry, a StopNCII hash record, an entry
of a published OHSC bank), named by ``source_id``: a later record with the same ``source_id``
replaces it, and a withdrawal removes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from ohsc.settings import Settings, load_settings


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One source entry as the exchange lists it now (or its withdrawal)."""

    source_id: str
    #: (signal type, value) pairs, in OHSC signal type names (``pdq``, ``md5`` ...)
    signals: tuple[tuple[str, str], ...] = ()
    category: str | None = None
    labels: tuple[str, ...] = ()
    #: the source withdrew the entry: it stops counting for every hash it listed
    withdrawn: bool = False


@dataclass(slots=True)
class FetchedPage:
    """Records of one page and the checkpoint that resumes after them."""

    records: list[ExchangeRecord]
    checkpoint: dict[str, Any]
    #: things worth telling about the page that did not stop it (a record skipped, and why)
    notes: list[str] = field(default_factory=list)
    #: counts of what the exchange said (for the audit event): e.g. {"served_items": 500}
    facts: dict[str, Any] = field(default_factory=dict)


class Verdict(StrEnum):
    """A reviewer's decision on a match, as feedback to the list's owner."""

    CONFIRMED = "confirmed"  # the match was what the list says
    DISPUTED = "disputed"  # the match was not (a false positive, or the entry is wrong)


@dataclass(frozen=True, slots=True)
class Feedback:
    """Feedback on one source entry of an exchange."""

    source_id: str
    signal_type: str
    value: str
    verdict: Verdict
    #: the labels the exchange gave the record (NCMEC: the member that listed it)
    labels: tuple[str, ...] = ()


class Exchange(ABC):
    """An exchange's client, built from its stored configuration and decrypted credentials.

    Subclasses set :attr:`kind` and register with :func:`ohsc.exchanges.kinds.register`.
    """

    kind: ClassVar[str]
    #: option names that are secrets (sealed with the content key in the store)
    secret_options: ClassVar[tuple[str, ...]] = ()
    #: option names the kind needs
    required_options: ClassVar[tuple[str, ...]] = ()
    #: a record may list other signals than before under the same source id (NCMEC entries);
    #: False where the source id fixes its signal (an OHSC feed's entry id, a StopNCII hash),
    #: so applying a page need not look for signals a record stopped listing
    records_change_signals: ClassVar[bool] = True

    def __init__(
        self,
        name: str,
        options: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        settings: Settings | None = None,
    ) -> None:
        self.name = name
        self.options = dict(options)
        self.secrets = dict(secrets)
        self.settings = settings or load_settings()

    @abstractmethod
    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        """Pages of changes since ``checkpoint`` (None: from the beginning), oldest first.

        A record whose signals cannot be read is left out of ``records`` with a note; a page
        that cannot be trusted (a signature, cursor or sequence that does not verify) raises
        :class:`ohsc.errors.ExchangeError` before any of it is handed over.
        """

    @property
    def supports_feedback(self) -> bool:
        return False

    def send_feedback(self, items: Sequence[Feedback]) -> int:
        """Send reviewer decisions to the list's owner; the number sent."""
        return 0

    def close(self) -> None:  # noqa: B027 (most kinds hold nothing to release)
        """Release connections."""
