"""OHSC: Online Harms Safety Centre.

Library first: ``ohsc.signals`` turns content into signals, ``ohsc.banks`` keeps hash banks in
``ohsc.store``, ``ohsc.index`` finds signals in banks, ``ohsc.matching`` applies bank rules and
``ohsc.scanning`` walks folders and archives. The ``ohsc`` CLI is a thin shell over these.
"""

__version__ = "0.1.0"
