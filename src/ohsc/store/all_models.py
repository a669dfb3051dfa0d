"""Import every module that defines tables, so ``Base.metadata`` is complete for migrations.

Each package with its own models adds one import line here.
"""

from __future__ import annotations

from ohsc.accounts import models as _accounts_models  # noqa: F401
from ohsc.actions import models as _actions_models  # noqa: F401
from ohsc.content import models as _content_models  # noqa: F401
from ohsc.evidence import tables as evidence_tables  # noqa: F401
from ohsc.exchanges import tables as _exchange_tables  # noqa: F401
from ohsc.prevention import models as prevention_models  # noqa: F401
from ohsc.reports import tables as report_tables  # noqa: F401
from ohsc.review import models as _review_models  # noqa: F401
from ohsc.store import models  # noqa: F401
from ohsc.store.models import Base
from ohsc.video import store as video_store  # noqa: F401

metadata = Base.metadata
