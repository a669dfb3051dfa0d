"""Exchanges: hash lists that flow between organisations (OHSC nodes, NCMEC, StopNCII).

* :mod:`ohsc.exchanges.model`: what an exchange hands over (records, pages) and the
  :class:`~ohsc.exchanges.model.Exchange` interface every kind implements;
* :mod:`ohsc.exchanges.kinds`: the registry of kinds (``ohsc-feed``, ``ncmec``, ``stopncii``);
* :mod:`ohsc.exchanges.service`: configured exchanges in the store, ``sync``;
* :mod:`ohsc.exchanges.feeds`: this node's published feeds (signed pages, partners).
"""
