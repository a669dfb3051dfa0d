"""The prevention services of one server process (deterrence, help directory, Trace an Object,
tips, counters), opened on first use and kept in ``services.extras``.

The counters of deterrence checks, clicks, views and tips share one in-memory buffer, written to
the store by the ``prevention-counters`` background job (and when the process stops).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ohsc.actor import ROLE_ADMIN, LocalActor
from ohsc.prevention.counters import PreventionStats
from ohsc.prevention.deterrence import DeterrenceService
from ohsc.prevention.directory import HelpDirectory, ResourceCache
from ohsc.prevention.tips import TipService
from ohsc.prevention.trace import TraceObjects
from ohsc.web.services import Services

log = logging.getLogger(__name__)

_KEY = "prevention"
_lock = threading.Lock()
#: who seeds the help directory when a server first uses it
SEEDER = LocalActor("system:seed", frozenset({ROLE_ADMIN}))


@dataclass(eq=False)
class Prevention:
    deterrence: DeterrenceService
    directory: HelpDirectory
    objects: TraceObjects
    tips: TipService
    stats: PreventionStats

    def flush(self) -> int:
        """Write the pending counters (the background job calls this)."""
        return self.deterrence.flush()

    def directory_changed(self) -> None:
        """After an edit: the next check or interstitial sees the change at once."""
        if isinstance(self.deterrence.resources, ResourceCache):
            self.deterrence.resources.invalidate()


def prevention(services: Services) -> Prevention:
    """The process's prevention services (opened, and the directory seeded, on first use)."""
    found = services.extras.get(_KEY)
    if isinstance(found, Prevention):
        return found
    with _lock:
        found = services.extras.get(_KEY)
        if isinstance(found, Prevention):
            return found
        settings, store = services.settings, services.store
        deterrence = DeterrenceService.from_settings(settings, store)
        directory = HelpDirectory(store)
        directory.seed(SEEDER, only_new=True)
        opened = Prevention(
            deterrence=deterrence,
            directory=directory,
            objects=TraceObjects(store, services.blobs, settings),
            tips=TipService(store, settings, counters=deterrence.counters),
            stats=PreventionStats(store),
        )
        services.extras[_KEY] = opened
        return opened


def flush_counters(services: Services) -> None:
    """Flush the counters if the prevention services were opened in this process."""
    found = services.extras.get(_KEY)
    if isinstance(found, Prevention):
        found.flush()
