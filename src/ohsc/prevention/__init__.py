"""Prevention: deterrence messages with localised help, a public help directory, Trace an Object.

* :mod:`ohsc.prevention.normalise`, :mod:`~ohsc.prevention.termlists`,
  :mod:`~ohsc.prevention.matcher`, :mod:`~ohsc.prevention.registry`: operator term lists, matched
  robustly against disguised text with Aho-Corasick, reloaded when their files change.
* :mod:`ohsc.prevention.deterrence`: the check a platform calls (``{triggered, list, message,
  resources}``), counting aggregates only.
* :mod:`ohsc.prevention.messages`: the localised, versioned message catalogue.
* :mod:`ohsc.prevention.directory`: the help directory.
* :mod:`ohsc.prevention.trace` and :mod:`ohsc.prevention.tips`: Trace an Object.

This package imports no optional dependency at import time (the store imports its models).
"""
