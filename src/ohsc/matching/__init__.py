"""Matching: index hits turned into matches by bank rules."""

from ohsc.matching.matcher import BankRule, Matcher
from ohsc.matching.model import Match, MatchOutcome

__all__ = ["BankRule", "Match", "MatchOutcome", "Matcher"]
