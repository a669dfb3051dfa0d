"""Outgoing connections: the egress guard that webhooks, URL fetching and other clients share."""

from ohsc.net.egress import EgressGuard, Resolver, Target, parse_allow_list, system_resolver
from ohsc.net.transport import GuardedTransport, guarded_client

__all__ = [
    "EgressGuard",
    "GuardedTransport",
    "Resolver",
    "Target",
    "guarded_client",
    "parse_allow_list",
    "system_resolver",
]
