"""``ohsc report ...``: drafts, submission to NCMEC and the package destinations, retraction, figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ohsc.actor import LocalActor
from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import ConflictError, InvalidInputError, OhscError
from ohsc.reports.plan import SubmitPlan
from ohsc.reports.service import DraftResult, ReportService
from ohsc.reports.validation import Problem
from ohsc.store.types import ascii_int, parse_when

#: Keys of a draft file that belong to the file, not to the report body.
_FILE_KEYS = (
    "path",
    "viewed_by_human",
    "exif_viewed_by_human",
    "review_ref",
    "media_type",
    "matches",
    "matched_at",
)
_REVIEW_KEYS = ("viewed_by_human", "exif_viewed_by_human", "review_ref")


def actor_of(app: App) -> LocalActor:
    """Whoever runs the command, with the roles of ``OHSC_CLI_ROLES``."""
    return LocalActor.of(app.actor, app.settings.cli_roles)


def reports_of(app: App) -> ReportService:
    return ReportService(
        app.store, app.settings, actor_of(app), progress=lambda message: err.print(f"[dim]{e(message)}[/]")
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidInputError(f"{path.name} is not valid JSON: {exc}") from None


def print_problems(problems: list[Problem]) -> None:
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        err.print(f"[{colour}]{p.severity}:[/] {e(p)}")


def _summary_line(result: DraftResult) -> str:
    blocking = sum(1 for p in result.problems if p.severity == "error")
    state = "ready to submit" if not blocking else f"{blocking} thing(s) to complete before submitting"
    return f"report {result.report.id} (version {result.report.version}): {state}"


@click.group("report")
def report() -> None:
    """Reports to authorities: drafts, NCMEC CyberTipline, UK NCA and EU Centre packages.

    Where a report goes depends on the jurisdictions of its content (OHSC_REPORT_DESTINATIONS).
    """


@report.command("draft")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON draft: report fields plus a 'files' list (paths relative to the JSON file).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def draft(app: App, source: Path, as_json: bool) -> None:
    """Create a draft from a JSON file and attach its files.

    Each file entry needs "path" and, from the review record, "viewed_by_human" and
    "exif_viewed_by_human" (true, false, or null when the record does not say).
    """
    doc = _read_json(source)
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{source.name} must hold a JSON object")
    files = doc.pop("files", [])
    matched_at = parse_when(doc.pop("matched_at", None), "matched_at")
    sources = doc.pop("sources", [])
    if not isinstance(files, list):
        raise InvalidInputError("'files' must be a list")
    if not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
        raise InvalidInputError(
            '\'sources\' must be a list of objects, e.g. [{"type": "review_decision", "id": "17"}]'
        )
    entries: list[tuple[dict[str, Any], bytes]] = []
    for i, entry in enumerate(files):
        if not isinstance(entry, dict) or "path" not in entry:
            raise InvalidInputError(f"files[{i}]: give at least a 'path'")
        missing = [k for k in ("viewed_by_human", "exif_viewed_by_human") if k not in entry]
        if missing:
            raise InvalidInputError(
                f"files[{i}]: {' and '.join(missing)} must be given from the review record "
                "(true, false, or null when the record does not say); it is never assumed"
            )
        path = (source.parent / entry["path"]).resolve()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"files[{i}]: cannot read {entry['path']}: {exc.strerror}") from None
        entries.append((entry, data))
    service = reports_of(app)
    created = service.create_draft(doc, sources=sources, matched_at=matched_at)
    rid = created.report.id
    try:
        for entry, data in entries:
            facts = {k: v for k, v in entry.items() if k not in _FILE_KEYS}
            facts.setdefault("file_name", Path(entry["path"]).name)
            service.add_file(
                rid,
                data=data,
                media_type=entry.get("media_type"),
                viewed_by_human=entry["viewed_by_human"],
                exif_viewed_by_human=entry["exif_viewed_by_human"],
                review_ref=entry.get("review_ref"),
                facts=facts,
                matches=entry.get("matches") or (),
                matched_at=parse_when(entry.get("matched_at"), "matched_at") or matched_at,
            )
    except OhscError:
        service.discard(rid)
        raise
    result = service.check(rid)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(f"created draft {_summary_line(result)}")
    print_problems(result.problems)


@report.command("update")
@click.argument("report_id", type=int)
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='JSON patch; "files": {"<file id>": {...}} changes file facts.',
)
@click.option(
    "--version",
    "version",
    type=int,
    help="Refuse (exit 5, nothing saved) if the draft changed since this version.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def update(app: App, report_id: int, source: Path, version: int | None, as_json: bool) -> None:
    """Save part of a draft (fields not in the patch are kept)."""
    patch = _read_json(source)
    if not isinstance(patch, dict):
        raise InvalidInputError(f"{source.name} must hold a JSON object")
    file_patches = patch.pop("files", {})
    if not isinstance(file_patches, dict):
        raise InvalidInputError('"files" in a patch maps file ids to changes: {"12": {"relevance": ...}}')
    service = reports_of(app)
    result = service.update(report_id, patch, expected_version=version) if patch else service.check(report_id)
    if version is not None and not patch and result.report.version != version:
        raise ConflictError(
            f"report {report_id} was changed by someone else (version {result.report.version}, you "
            f"edited {version}): nothing was saved; look at it again and apply your change"
        )
    for file_id, change in file_patches.items():
        number = ascii_int(str(file_id))
        if number is None or not isinstance(change, dict):
            raise InvalidInputError(f"files: {file_id!r} is not a file id with an object of changes")
        # with --version, every step builds on the one before: a change made meanwhile is refused
        expected = result.report.version if version is not None else None
        result = service.update_file(report_id, number, change, expected_version=expected)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(f"saved {_summary_line(result)}")
    print_problems(result.problems)


@report.command("list")
@click.option("--status", help="draft, submitting, filed, failed or retracted.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: App, status: str | None, as_json: bool) -> None:
    """List reports, newest first."""
    rows = reports_of(app).summaries(status=status)
    if as_json:
        for r in rows:
            print_json(r.to_dict())
        return
    if not rows:
        out.print("no reports yet: ohsc report draft --from draft.json")
        return
    table = Table("id", "status", "incident", "files", "where", "destinations", "updated")
    for r in rows:
        dests = ", ".join(f"{n}:{st}" + (f" #{rid}" if rid else "") for n, st, rid in r.destinations)
        table.add_row(
            str(r.id),
            r.status,
            e(r.incident_type or "-"),
            str(r.files),
            e(",".join(r.jurisdictions) or "-"),
            e(dests or "-"),
            f"{r.updated_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@report.command("show")
@click.argument("report_id", type=int)
@click.option(
    "--preview", "preview", metavar="DESTINATION", help="Print the documents this destination gets."
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: App, report_id: int, preview: str | None, as_json: bool) -> None:
    """Show a report: fields, files, what is missing, where it went."""
    service = reports_of(app)
    if preview:
        for name, data in service.preview(report_id, preview).items():
            out.print(f"[bold]== {e(name)}[/]")
            out.file.write(data.decode("utf-8") + "\n")
        return
    result = service.check(report_id)
    subs = service.submissions(report_id)
    if as_json:
        print_json({**result.to_dict(), "submissions": [x.to_dict() for x in subs]})
        return
    snap = result.report
    out.print(
        f"[bold]report {snap.id}[/] {snap.status} (version {snap.version}), created {snap.created_at:%Y-%m-%d %H:%M} by {e(snap.created_by)}"
    )
    out.print(
        json.dumps(snap.body.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False),
        markup=False,
    )
    if snap.files:
        table = Table("id", "#", "name", "size", "sha256", "viewed", "exif viewed", "review")
        for f in snap.files:
            table.add_row(
                str(f.id),
                str(f.position + 1),
                e(f.name),
                str(f.size),
                f.sha256[:16] + "...",
                {True: "yes", False: "no", None: "unknown"}[f.viewed_by_human],
                {True: "yes", False: "no", None: "unknown"}[f.exif_viewed_by_human],
                e(f.review_ref or "-"),
            )
        out.print(table)
    for x in subs:
        extra = f" remote {x.remote_id}" if x.remote_id else ""
        error = f" [red]last error: {e(x.last_error)}[/]" if x.last_error else ""
        out.print(f"{e(x.destination)}: {x.state}{e(extra)}{error}")
    if snap.status in ("draft", "failed"):
        print_problems(result.problems)


def print_plan(plan: SubmitPlan) -> None:
    """Who receives what (to stderr: stdout keeps the results)."""
    what = "resume the submission of" if plan.resuming else "submit"
    err.print(f"[bold]{what} report {plan.report_id}[/] (version {plan.version}) to:")
    for step in plan.steps:
        state = f" ({e(step.state)})" if step.state else ""
        err.print(f"  [bold]{e(step.title)}[/] [dim]{e(step.destination)}[/]{state}")
        for line in step.sends:
            err.print(f"    - {e(line)}")
    print_problems(list(plan.problems))


@report.command("submit")
@click.argument("report_id", type=int)
@click.option("--take-over", is_flag=True, help="Take the submission over from a process that holds it.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (scripts); what goes where is still printed.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def submit(app: App, report_id: int, take_over: bool, yes: bool, as_json: bool) -> None:
    """Show which authority receives what, ask once, then submit the report to its destinations
    (or resume an interrupted submission, without asking again)."""
    service = reports_of(app)
    plan = service.plan(report_id)
    version = None
    if plan.ready and not plan.resuming:
        print_plan(plan)
        if not yes:
            titles = " and ".join(step.title for step in plan.steps)
            click.confirm(f"file report {report_id} with {titles}?", abort=True, err=True)
        version = plan.version  # exactly what was shown: a change made meanwhile is refused
    result = service.submit(report_id, take_over=take_over, expected_version=version)
    if as_json:
        print_json(result.to_dict())
        return
    for x in result.submissions:
        out.print(f"{e(x.destination)}: {x.state}" + (f" ({e(x.remote_id)})" if x.remote_id else ""))
    out.print(f"report {report_id} is {result.report.status}")


@report.command("retract")
@click.argument("report_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@pass_app
def retract(app: App, report_id: int, reason: str) -> None:
    """Withdraw a report where the destination allows it (NCMEC: only before it is finished)."""
    result = reports_of(app).retract(report_id, reason=reason)
    for x in result.submissions:
        out.print(f"{e(x.destination)}: {x.state}")
    out.print(f"report {report_id} is {result.report.status}")


@report.command("discard")
@click.argument("report_id", type=int)
@pass_app
def discard(app: App, report_id: int) -> None:
    """Delete a draft that was never submitted."""
    reports_of(app).discard(report_id)
    out.print(f"discarded draft {report_id}")


@report.command("stats")
@click.option("--since", help="Reports created from this date (ISO).")
@click.option("--until", help="... and before this date (ISO).")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write CSV here ('-': stdout)."
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: App, since: str | None, until: str | None, csv_path: Path | None, as_json: bool) -> None:
    """Figures for transparency reports."""
    figures = reports_of(app).stats(since=parse_when(since, "--since"), until=parse_when(until, "--until"))
    if csv_path is not None:
        if str(csv_path) == "-":
            sys.stdout.write(figures.to_csv())
        else:
            csv_path.write_text(figures.to_csv(), encoding="utf-8")
            out.print(f"wrote {e(csv_path)}")
        return
    if as_json:
        print_json(figures.to_dict())
        return
    table = Table("metric", "dimension", "value")
    for row in figures.rows():
        table.add_row(*(e(x) for x in row))
    out.print(table)


@report.command("signing-key")
@pass_app
def signing_key(app: App) -> None:
    """Print the public key that signs packages (give it to the recipient once)."""
    from ohsc.reports.signing import Signer, load_or_create

    signer = Signer(load_or_create(app.settings.report_signing_key, app.settings.home))
    d = signer.describe()
    out.print(f"algorithm  {d['algorithm']}\nkey id     {d['key_id']}\npublic key {d['public_key']}")


@report.command("verify-package")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="Base64 Ed25519 public key (default: this installation's).")
@pass_app
def verify_package_cmd(app: App, package: Path, public_key: str | None) -> None:
    """Check a package against its detached signature."""
    from ohsc.reports.signing import Signer, load_or_create, public_key_from_b64, verify_package

    key = (
        public_key_from_b64(public_key)
        if public_key
        else Signer(load_or_create(app.settings.report_signing_key, app.settings.home)).public
    )
    check = verify_package(package, key)
    if not check.ok:
        raise InvalidInputError(f"{package.name}: {check.message}")
    out.print(f"{e(package.name)}: {check.message} (profile {e(check.profile)}, key {check.key_id})")


@report.command("ncmec-check")
@pass_app
def ncmec_check(app: App) -> None:
    """Check the connection and credentials to the CyberTipline Reporting API (GET /status)."""
    from ohsc.reports.destinations.ncmec import NcmecDestination

    with NcmecDestination(app.settings).client() as client:
        client.status()
        out.print(f"NCMEC reporting API at {e(client.base_url)}: connected, credentials accepted")


@report.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback addresses only.")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--user", default="ohsc-test", show_default=True)
@click.option("--password", default="ohsc-test", show_default=True)
@click.option(
    "--xsd",
    "xsd",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="OHSC_NCMEC_XSD_PATH",
    help="Validate documents with this schema (NCMEC's own, from GET /xsd) instead of the fake one.",
)
def fake_server(host: str, port: int, user: str, password: str, xsd: Path | None) -> None:
    """Run a local fake CyberTipline server for development (Ctrl-C stops it)."""
    from lxml import etree

    from ohsc.reports.ncmec.fake_server import FakeCyberTipline

    try:
        fake = FakeCyberTipline(username=user, password=password, host=host, port=port, schema_path=xsd)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise InvalidInputError(f"cannot read the XML schema {xsd}: {exc}") from None
    err.print(
        f"fake CyberTipline at {e(fake.url)} (user {e(user)}), validating with {e(fake.schema_path.name)}; "
        f"state at {e(fake.url)}/_fake/state\n"
        f"export OHSC_NCMEC_BASE_URL={e(fake.url)} OHSC_NCMEC_USERNAME={e(user)} OHSC_NCMEC_PASSWORD={e(password)}"
    )
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
