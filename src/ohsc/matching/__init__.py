"""Matching: index hits turned into matches by bank rules."""

from ohsc.matching.matcher import Matcher
from ohsc.matching.model import BankRule, Match, MatchOutcome

__all__ = ["BankRule", "Match", "MatchOutcome", "Matcher"]
