"""Evidence preservation: reported content and its metadata, encrypted, kept for the legal period.

Importing this package is cheap (settings validation uses :mod:`ohsc.jurisdiction`);
the service lives in :mod:`ohsc.evidence.service`.
"""
