"""``ohsc rule ...``: action rules (what a match does, per bank and category) and bank policies
(two-person review, flood limits, reference thumbnails): the calls /v1/rules, /v1/banks/{bank}/policy
and the /admin/rules page make."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.render import e, print_json

if TYPE_CHECKING:
    from ohsc.actions.rules import Policy
    from ohsc.actions.service import ActionService

VERDICTS = ["block", "review", "allow"]


def _actions(app: App) -> ActionService:
    from ohsc.actions.service import ActionService

    return ActionService(app.store, app.settings, actor=app.actor)


@click.group("rule")
def rule() -> None:
    """Action rules (the most specific wins: bank + category, bank, category, any) and bank policies."""


@rule.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def rule_list(app: App, as_json: bool) -> None:
    """List action rules."""
    rules = _actions(app).list_rules()
    if as_json:
        for r in rules:
            print_json(r.to_dict())
        return
    table = Table("id", "bank", "category", "verdict", "review", "notify", "report")
    yes = {True: "yes", False: "no"}
    for r in rules:
        table.add_row(str(r.id), str(r.bank_id or "any"), e(r.category or "any"), r.verdict.value,
                      yes[r.review], yes[r.notify], yes[r.report])  # fmt: skip
    out.print(table)


@rule.command("create")
@click.option("--bank", help="Bank name or id (default: every bank).")
@click.option("--category", help="Category (default: every category).")
@click.option("--verdict", required=True, type=click.Choice(VERDICTS))
@click.option("--review/--no-review", default=None, help="Queue a review item (default: unless allow).")
@click.option("--notify/--no-notify", default=True, show_default=True, help="Send match.created.")
@click.option("--report/--no-report", default=False, show_default=True, help="Ask for a report draft.")
@pass_app
def rule_create(
    app: App,
    bank: str | None,
    category: str | None,
    verdict: str,
    review: bool | None,
    notify: bool,
    report: bool,
) -> None:
    """Add a rule for a bank and category (one rule per pair)."""
    r = _actions(app).create_rule(
        bank=bank, category=category, verdict=verdict, review=review, notify=notify, report=report
    )
    out.print(f"created rule {r.id}: {r.verdict.value}")


@rule.command("update")
@click.argument("rule_id", type=int)
@click.option("--verdict", type=click.Choice(VERDICTS))
@click.option("--review/--no-review", default=None)
@click.option("--notify/--no-notify", default=None)
@click.option("--report/--no-report", default=None)
@pass_app
def rule_update(
    app: App, rule_id: int, verdict: str | None, review: bool | None, notify: bool | None, report: bool | None
) -> None:
    """Change a rule (what is not given stays)."""
    r = _actions(app).update_rule(rule_id, verdict=verdict, review=review, notify=notify, report=report)
    out.print(f"rule {r.id}: {r.verdict.value}, review {r.review}, notify {r.notify}, report {r.report}")


@rule.command("delete")
@click.argument("rule_id", type=int)
@pass_app
def rule_delete(app: App, rule_id: int) -> None:
    """Delete a rule (its matches fall back to a less specific rule)."""
    _actions(app).delete_rule(rule_id)
    out.print(f"deleted rule {rule_id}")


def _print_policy(p: Policy) -> None:
    out.print(
        f"bank {p.bank_id}: two-person review {p.two_person_review}, flood "
        f"{p.flood_max_matches if p.flood_max_matches is not None else 'default'} per "
        f"{p.flood_window_seconds if p.flood_window_seconds is not None else 'default'} s, "
        f"thumbnails {p.keep_thumbnails}"
    )


@rule.command("policy")
@click.argument("bank")
@click.option("--two-person/--one-person", "two_person", default=None, help="Two reviewers must confirm.")
@click.option("--flood-max", type=click.IntRange(0), help="Matches of one entry per window (0: off).")
@click.option("--flood-window", type=click.IntRange(1), help="The flood window in seconds.")
@click.option("--default-flood", is_flag=True, help="Back to OHSC_FLOOD_* limits.")
@click.option("--thumbnails/--no-thumbnails", default=None, help="Keep reference thumbnails.")
@pass_app
def rule_policy(
    app: App,
    bank: str,
    two_person: bool | None,
    flood_max: int | None,
    flood_window: int | None,
    default_flood: bool,
    thumbnails: bool | None,
) -> None:
    """Show BANK's policy, or change it with the options."""
    svc = _actions(app)
    if (
        two_person is None
        and flood_max is None
        and flood_window is None
        and not default_flood
        and thumbnails is None
    ):
        _print_policy(svc.get_policy(bank))
        return
    _print_policy(
        svc.set_policy(
            bank,
            two_person_review=two_person,
            flood_max_matches=flood_max,
            flood_window_seconds=flood_window,
            keep_thumbnails=thumbnails,
            clear_flood=default_flood,
        )
    )


@rule.command("policies")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def rule_policies(app: App, as_json: bool) -> None:
    """The banks whose policy differs from the defaults."""
    for p in _actions(app).list_policies():
        if as_json:
            print_json(p.to_dict())
        else:
            _print_policy(p)


@rule.command("reset-policy")
@click.argument("bank")
@pass_app
def rule_reset_policy(app: App, bank: str) -> None:
    """Back to the default policy for BANK."""
    _print_policy(_actions(app).reset_policy(bank))
