"""The fixed vocabularies of a report, as OHSC storage keys with their wire values.

The keys (left) are stored in drafts and never change; the labels (right) are what NCMEC's
CyberTipline Reporting API expects verbatim (its documentation, "incidentType", "eventName",
"reportAnnotations", "fileAnnotations", "industryClassification", "fileRelevance").
"""

from __future__ import annotations

from typing import Literal

IncidentType = Literal[
    "child_pornography",
    "child_sex_trafficking",
    "child_sex_tourism",
    "child_sexual_molestation",
    "misleading_domain_name",
    "misleading_words_or_images",
    "online_enticement",
    "unsolicited_obscene_material",
]

NCMEC_INCIDENT_TYPES: dict[str, str] = {
    "child_pornography": "Child Pornography (possession, manufacture, and distribution)",
    "child_sex_trafficking": "Child Sex Trafficking",
    "child_sex_tourism": "Child Sex Tourism",
    "child_sexual_molestation": "Child Sexual Molestation",
    "misleading_domain_name": "Misleading Domain Name",
    "misleading_words_or_images": "Misleading Words or Digital Images on the Internet",
    "online_enticement": "Online Enticement of Children for Sexual Acts",
    "unsolicited_obscene_material": "Unsolicited Obscene Material Sent to a Child",
}

#: Short, neutral descriptions for the report form.
INCIDENT_TYPE_HELP: dict[str, str] = {
    "child_pornography": "Apparent child sexual abuse material: possession, manufacture or distribution.",
    "child_sex_trafficking": "Trafficking a child for sexual purposes.",
    "child_sex_tourism": "Travel arranged for sexual contact with a child.",
    "child_sexual_molestation": "Contact abuse described or evidenced.",
    "misleading_domain_name": "A domain name meant to lead a child to sexual material.",
    "misleading_words_or_images": "Words or images meant to lead a child to sexual material.",
    "online_enticement": "Solicitation of a child for sexual acts (sextortion is filed here, annotated).",
    "unsolicited_obscene_material": "Sexual material sent to a child who did not ask for it.",
}

ReportAnnotation = Literal[
    "sextortion", "csam_solicitation", "minor_to_minor_interaction", "spam", "sadistic_online_exploitation"
]
NCMEC_REPORT_ANNOTATIONS: dict[str, str] = {
    "sextortion": "sextortion",
    "csam_solicitation": "csamSolicitation",
    "minor_to_minor_interaction": "minorToMinorInteraction",
    "spam": "spam",
    "sadistic_online_exploitation": "sadisticOnlineExploitation",
}

EventName = Literal["login", "registration", "purchase", "upload", "other", "unknown"]
NCMEC_EVENT_NAMES: dict[str, str] = {
    "login": "Login",
    "registration": "Registration",
    "purchase": "Purchase",
    "upload": "Upload",
    "other": "Other",
    "unknown": "Unknown",
}

#: How an associated account relates to the reported person (NCMEC ``associatedAccount/@type``,
#: required by NCMEC's schema). OHSC's associated accounts are the same person's other accounts,
#: so the default is ``linked``.
AssociatedAccountType = Literal["billing", "linked", "business", "creator", "parent_guardian", "other"]
NCMEC_ASSOCIATED_ACCOUNT_TYPES: dict[str, str] = {
    "billing": "Billing",
    "linked": "Linked",
    "business": "Business",
    "creator": "Creator",
    "parent_guardian": "Parent/Guardian",
    "other": "Other",
}
ASSOCIATED_ACCOUNT_TYPE_HELP: dict[str, str] = {
    "linked": "another account of the same person",
    "billing": "the account that pays for it",
    "business": "a business account of the same person",
    "creator": "the account that created it",
    "parent_guardian": "a parent's or guardian's account",
    "other": "another relation",
}

FileAnnotation = Literal[
    "anime_drawing_virtual",
    "potential_meme",
    "viral",
    "possible_self_production",
    "physical_harm",
    "violence_gore",
    "bestiality",
    "live_streaming",
    "infant",
    "generative_ai",
]
NCMEC_FILE_ANNOTATIONS: dict[str, str] = {
    "anime_drawing_virtual": "animeDrawingVirtualHentai",
    "potential_meme": "potentialMeme",
    "viral": "viral",
    "possible_self_production": "possibleSelfProduction",
    "physical_harm": "physicalHarm",
    "violence_gore": "violenceGore",
    "bestiality": "bestiality",
    "live_streaming": "liveStreaming",
    "infant": "infant",
    "generative_ai": "generativeAi",
}

#: Tech Coalition industry classification (A: prepubescent, B: pubescent; 1: sex act, 2: lascivious
#: exhibition). Only for platforms that are signatories (``OHSC_REPORT_INDUSTRY_CLASSIFICATION``).
IndustryClassification = Literal["A1", "A2", "B1", "B2"]

FileRelevance = Literal["reported", "supplemental"]
NCMEC_FILE_RELEVANCE: dict[str, str] = {"reported": "Reported", "supplemental": "Supplemental Reported"}

#: How the content came to be reported (EU proposal, Article 13(1)(e)).
ContentKind = Literal["known", "new", "solicitation"]

#: Where the incident happened (NCMEC ``internetDetails``); OHSC fills the web-page and chat forms.
InternetKind = Literal["web_page", "chat_im"]
