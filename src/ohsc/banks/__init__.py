"""Hash banks: named lists of signals with provenance, categories, thresholds and retractions."""

from ohsc.banks.model import Bank, BankEntry, EntryInput, EntrySource, ImportReport, RowError
from ohsc.banks.service import BankService

__all__ = ["Bank", "BankEntry", "BankService", "EntryInput", "EntrySource", "ImportReport", "RowError"]
