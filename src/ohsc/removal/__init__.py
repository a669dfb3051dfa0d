"""Removal: find known material on the web, notify the host, re-check until it is gone."""
