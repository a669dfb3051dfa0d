"""Scans of folders and archives: hash on all cores, match, journal, resume."""
