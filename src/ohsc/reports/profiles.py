"""The JSON bodies of signed packages: a local profile, the UK NCA profile, the EU Centre profile.

* ``ohsc-uk-nca/1`` follows the headings of Schedule 1 to the Online Safety (CSEA Content
  Reporting by Regulated User-to-User Service Providers) Regulations 2026 (made under s.67 of the
  Online Safety Act 2023; reports go to the NCA by its portal or API under s.66). The NCA's API
  schema is not public: the package is for entry in the portal or for an adapter once it is.
* ``ohsc-eu-centre/1`` follows Article 13(1) of the proposed Regulation laying down rules to
  prevent and combat child sexual abuse, COM(2022) 209, whose Annex III is the report template.
  The regulation is not adopted; the profile will follow its final text.
* ``ohsc-local/1`` is everything OHSC knows, for development and for archives.

Content is referenced by hash and evidence key, or embedded (``OHSC_REPORT_PACKAGE_CONTENT``).
"""

from __future__ import annotations

from typing import Any

from ohsc.reports.draft import ReportedAccount
from ohsc.reports.snapshot import FileSnapshot, Provider, ReportSnapshot
from ohsc.reports.vocab import NCMEC_INCIDENT_TYPES

LOCAL_PROFILE = "ohsc-local/1"
UK_NCA_PROFILE = "ohsc-uk-nca/1"
EU_CENTRE_PROFILE = "ohsc-eu-centre/1"

UK_LEGAL_BASIS = (
    "Online Safety Act 2023, s.66; Online Safety (CSEA Content Reporting by Regulated "
    "User-to-User Service Providers) Regulations 2026"
)
EU_LEGAL_BASIS = (
    "Proposal for a Regulation laying down rules to prevent and combat child sexual abuse, "
    "COM(2022) 209, Articles 12 and 13 and Annex III (not adopted; profile subject to change)"
)


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def incident(report: ReportSnapshot) -> dict[str, Any]:
    inc = report.body.incident
    return {
        "type": inc.type,
        "type_label": NCMEC_INCIDENT_TYPES.get(inc.type) if inc.type else None,
        "at": inc.at.isoformat() if inc.at else None,
        "at_description": inc.at_description,
        "platform": inc.platform,
        "internet_kind": inc.internet_kind,
        "urls": list(inc.urls),
        "third_party_hosted": inc.third_party_hosted,
        "chat_client": inc.chat_client,
        "chat_room": inc.chat_room,
        "annotations": list(inc.annotations),
    }


def account(a: ReportedAccount) -> dict[str, Any]:
    return dict(_dump(a))


def file_entry(f: FileSnapshot) -> dict[str, Any]:
    facts = f.facts
    return {
        "position": f.position,
        "name": f.name,
        "size": f.size,
        "media_type": f.media_type,
        "hashes": {"md5": f.md5, "sha1": f.sha1, "sha256": f.sha256},
        "original_hashes": [_dump(h) for h in facts.original_hashes],
        "uploaded_at": facts.uploaded_at.isoformat() if facts.uploaded_at else None,
        "location_url": facts.location_url,
        "publicly_available": facts.publicly_available,
        "viewed_by_provider": f.viewed_by_human,
        "exif_viewed_by_provider": f.exif_viewed_by_human,
        "relevance": facts.relevance,
        "industry_classification": facts.industry_classification,
        "annotations": list(facts.annotations),
        "upload_ip": _dump(facts.upload_ip) if facts.upload_ip else None,
        "matched_entries": list(f.matches),
        "additional_info": facts.additional_info,
    }


def _person(report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
    return dict(_dump(report.reporting_person(provider)))


def _urgency(report: ReportSnapshot) -> dict[str, Any]:
    esc = report.body.escalation
    return {"urgent": esc.imminent_danger, "reason": esc.reason if esc.imminent_danger else None}


def local_payload(report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
    return {
        "provider": {"name": provider.company_name, "legal_url": provider.legal_url},
        "reporting_person": _person(report, provider),
        "jurisdictions": list(report.body.jurisdictions),
        "incident": incident(report),
        "content_kind": report.body.incident.content_kind,
        "escalation": _urgency(report),
        "accounts": [account(a) for a in report.body.accounts],
        "files": [file_entry(f) for f in report.files],
        "content_removed": report.body.incident.content_removed,
        "reported_elsewhere": list(report.body.incident.reported_elsewhere),
        "additional_info": report.body.additional_info,
        "matched_at": report.matched_at.isoformat() if report.matched_at else None,
        "sources": list(report.sources),
    }


def uk_nca_payload(report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
    return {
        "legal_basis": UK_LEGAL_BASIS,
        "provider": {"name": provider.company_name, "legal_url": provider.legal_url},
        "authorised_person": _person(report, provider),
        "priority": _urgency(report),
        "uk_linked": "GB" in report.body.jurisdictions,
        "incident": incident(report),
        "content": [file_entry(f) for f in report.files],
        "users": [account(a) for a in report.body.accounts],
        "content_removed": report.body.incident.content_removed,
        "additional_info": report.body.additional_info,
    }


def eu_centre_payload(report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
    accounts = report.body.accounts
    ip_events = [{"account": i, **_dump(e)} for i, a in enumerate(accounts) for e in a.ip_events] + [
        {"file": f.position, **_dump(f.facts.upload_ip)} for f in report.files if f.facts.upload_ip
    ]
    locations = [{"account": i, **_dump(a.location)} for i, a in enumerate(accounts) if a.location]
    return {
        "legal_basis": EU_LEGAL_BASIS,
        # (a) identification of the provider
        "provider": {
            "name": provider.company_name,
            "legal_representative": None,
            "contact": _person(report, provider),
        },
        # (b) date and time (the electronic signature is the package's detached signature)
        "date_time": (report.submitted_at or report.updated_at).isoformat(),
        # (c) content data
        "content_data": [file_entry(f) for f in report.files],
        # (d) other available data
        "other_data": {"incident": incident(report), "additional_info": report.body.additional_info},
        # (e) known material, new material or solicitation
        "content_kind": report.body.incident.content_kind,
        # (f) geographic data
        "geographic_data": {
            "jurisdictions": list(report.body.jurisdictions),
            "ip_events": ip_events,
            "estimated_locations": locations,
        },
        # (g) users involved
        "users": [account(a) for a in accounts],
        # (h) reports to authorities of third countries
        "reported_to_third_country_authorities": list(report.body.incident.reported_elsewhere),
        # (i) removed or disabled
        "content_removed": report.body.incident.content_removed,
        # (j) urgency
        "urgency": _urgency(report),
    }
