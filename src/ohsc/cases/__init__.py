"""Triage cases: a seized collection ingested, hashed, deduplicated, stacked and categorised.

A case holds *items* (unique contents, by MD5) with their *locations* (where each copy was found),
near-duplicate *stacks* (PDQ within the case's threshold, found through the PDQ index), *series*
(stacks from one camera, one folder and close timestamps), analysts' *votes* and the category an
item gets once enough analysts agree. Known items (matching a bank) take the bank's category;
unknown ones come first. Exports are Project VIC VICS 2.0 JSON.

Kept light: hashing workers import :mod:`ohsc.cases.worker` only.
"""
