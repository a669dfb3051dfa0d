"""Figures about the work, read from the other services' tables: the match log with its review
items, the operator dashboard and the transparency report. One library call each, used by the
CLI (``ohsc matches``, ``ohsc transparency``) and the web pages (``/matches``, ``/dashboard``,
``/transparency``) alike; nothing here writes except the audit event of an export.
"""
