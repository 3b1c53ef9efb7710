"""The data contract: the tables and columns a dataset holds, and what they mean.

Kept apart from the loader (:mod:`evallib.schemas`) so that reading it costs nothing:
the area files are checked against it (:mod:`evallib.params`) by every command, even one
that loads no data (an unchanged rerun), and the loader needs pandas and Arrow. The
contract as users read it: docs/data-dictionary.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evallib.params import normalise_label

__all__ = [
    "Column", "Table", "TABLES", "FOREIGN_KEYS", "EXTRACT_DATE_OF", "IDENTIFYING", "identifying",
    "TRUE_WORDS", "FALSE_WORDS", "OUTCOME_LEVELS", "YES_NO_UNKNOWN",
]

Kind = Literal["str", "date", "bool", "int", "category"]

# Columns that would identify a person: refused outright, even if listed as extra or mapped
# onto a contract column. Names are compared as people write them: case, spaces and
# punctuation are ignored ("D.O.B." is "dob", "NHS Number" is "nhsnumber").
IDENTIFYING_KINDS: dict[str, tuple[str, ...]] = {
    "a name": ("name", "first name", "forename", "forenames", "given name", "middle name", "last name",
               "surname", "family name", "full name", "maiden name", "client name", "alias"),
    "an address": ("address", "address line 1", "address line 2", "street", "house number",
                   "home address", "postcode", "post code", "zip code"),
    "a date of birth": ("date of birth", "dob", "d.o.b.", "birth date", "birthdate", "birthday"),
    "a phone number": ("phone", "phone number", "telephone", "tel", "tel no", "mobile", "mobile number",
                       "landline"),
    "an email address": ("email", "e-mail", "email address"),
    "a national identifier": ("NHS number", "NHS no", "nhs_no", "NI number", "NI no", "NINO",
                              "national insurance number", "PNC ID", "PNC number", "PNC no", "CRO number",
                              "passport number", "driving licence number", "UPN", "unique pupil number"),
    "free text about a person": ("case notes", "notes", "comments", "free text", "narrative"),
}
#: Parts that identify a column wherever they appear in its name ("Client Postcode").
IDENTIFYING_PARTS: dict[str, str] = {
    "firstname": "a name", "forename": "a name", "surname": "a name", "lastname": "a name",
    "fullname": "a name", "address": "an address", "postcode": "an address", "dateofbirth": "a date of birth",
    "birthdate": "a date of birth", "phone": "a phone number", "mobile": "a phone number",
    "email": "an email address", "nhsnumber": "a national identifier", "nhsno": "a national identifier",
    "ninumber": "a national identifier", "nationalinsurance": "a national identifier",
    "pncid": "a national identifier", "pncnumber": "a national identifier", "casenote": "free text about a person",
}
_IDENTIFYING_EXACT = {normalise_label(n): kind for kind, names in IDENTIFYING_KINDS.items() for n in names}
IDENTIFYING = frozenset(_IDENTIFYING_EXACT)


def identifying(column: str) -> str | None:
    """What a column name says it holds if that would identify a person (``"a date of birth"``), else None.

    >>> identifying("D.O.B."), identifying("Client Postcode"), identifying("referral_id")
    ('a date of birth', 'an address', None)
    """
    n = normalise_label(column)
    if n in _IDENTIFYING_EXACT:
        return _IDENTIFYING_EXACT[n]
    return next((kind for part, kind in IDENTIFYING_PARTS.items() if part in n), None)


TRUE_WORDS = {"true", "yes", "1", "y", "t"}
FALSE_WORDS = {"false", "no", "0", "n", "f"}


@dataclass(frozen=True)
class Column:
    """One column of the contract. ``categories`` for category columns; ``district`` and
    ``programme`` categories come from the area's params."""

    name: str
    kind: Kind
    required: bool
    meaning: str
    categories: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


OUTCOME_LEVELS = ("improved", "no_change", "deteriorated", "unknown")
YES_NO_UNKNOWN = ("yes", "no", "unknown")

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("referrals", True, "one row per referral of a person using abusive behaviour", (
        Column("referral_id", "str", True, "unique in the table", unique=True),
        Column("person_id", "str", True, "pseudonymous id of the person referred; the same id is used in police"),
        Column("referral_date", "date", True, "date the referral was received"),
        Column("district", "category", True, "one of the area's districts (params)"),
        Column("source", "category", True, "who referred", categories=(
            "self", "police", "childrens_social_care", "adult_social_care", "probation",
            "health", "idva_marac", "other")),
        Column("eligible", "bool", True, "passed the eligibility rules"),
        Column("ineligible_reason", "str", False, "why not eligible"),
        Column("gender", "category", False, "gender", categories=("female", "male", "other", "unknown")),
        Column("age", "int", False, "age at referral", minimum=10, maximum=110),
        Column("ethnicity", "category", False, "ONS five groups", categories=(
            "white", "mixed", "asian", "black", "other", "unknown")),
        Column("risk_level", "category", False, "assessed harm at assessment",
               categories=("standard", "medium", "high")),
        Column("children", "int", False, "children in the household or affected", minimum=0),
        Column("prior_da_incidents", "int", False, "police DA incidents known in the 2 years before referral", minimum=0),
        Column("substance_misuse", "bool", False, "substance misuse identified at assessment"),
        Column("mental_health", "bool", False, "mental health needs identified at assessment"),
    )),
    Table("episodes", True, "one row per intervention a person started", (
        Column("episode_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "must exist in referrals"),
        Column("programme", "category", True, "one of the area's programmes (params)"),
        Column("start_date", "date", True, "first session attended"),
        Column("end_date", "date", False, "last session or date closed; empty while ongoing"),
        Column("status", "category", True, "state of the episode", categories=(
            "completed", "disengaged", "suspended", "excluded", "ongoing")),
        Column("sessions_offered", "int", False, "sessions offered", minimum=0),
        Column("sessions_attended", "int", False, "not more than sessions_offered", minimum=0),
    )),
    Table("incidents", False, "incidents of abuse known to the service while a case was open", (
        Column("incident_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "must exist in referrals"),
        Column("incident_date", "date", True, "date of the incident"),
        Column("reported_by", "category", True, "who reported it", categories=(
            "partner", "police", "self", "practitioner", "other")),
    )),
    Table("partners", False, "partners and ex-partners offered the Partner Support Service", (
        Column("partner_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "the referral of the person whose (ex-)partner this is"),
        Column("offered_date", "date", True, "date support was first offered"),
        Column("contact_made", "bool", False, "contact established"),
        Column("support", "category", False, "none, one, or more than one incident of support",
               categories=("declined", "single", "multiple")),
        Column("engaged", "bool", True, "took up support at any stage"),
        Column("stage", "category", False, "stage of the person's intervention",
               categories=("assessment", "intervention", "post_intervention")),
        Column("dash_start", "int", False, "DASH checklist yes-count at first contact", minimum=0, maximum=27),
        Column("dash_end", "int", False, "DASH checklist yes-count at last contact", minimum=0, maximum=27),
        Column("feels_safer", "category", False, "at last contact", categories=YES_NO_UNKNOWN),
        Column("abuse_reduced", "category", False, "partner reports the person's use of abuse has reduced",
               categories=YES_NO_UNKNOWN),
        Column("outcome_coping", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_safety", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_mental_health", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_confidence", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
    )),
    Table("police", False, "police-recorded offences of referred people", (
        Column("offence_id", "str", True, "unique", unique=True),
        Column("person_id", "str", True, "as in referrals; ids with no referral are allowed and ignored"),
        Column("offence_date", "date", True, "date the offence was committed"),
        Column("da_related", "bool", True, "flagged domestic-abuse related"),
        Column("outcome", "category", True, "outcome of the offence", categories=(
            "conviction", "caution", "community_resolution", "charge_pending",
            "no_further_action", "other")),
        Column("outcome_date", "date", False, "date of the outcome (court disposal or caution)"),
    )),
    Table("sessions", False, "sessions delivered, for returns", (
        Column("session_id", "str", True, "unique", unique=True),
        Column("programme", "category", True, "one of the area's programmes (params)"),
        Column("session_date", "date", True, "date of the session"),
        Column("format", "category", True, "group or one-to-one", categories=("group", "one_to_one")),
        Column("attendees", "int", True, "people attending", minimum=0),
    )),
    Table("onward_referrals", False, "referrals made to specialist services", (
        Column("onward_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", False, "set for a referral to a service for the person"),
        Column("partner_id", "str", False, "set for a referral to a service for a partner"),
        Column("service", "category", True, "service referred to", categories=(
            "housing", "substance_misuse", "mental_health", "counselling", "children_services", "other")),
        Column("date", "date", True, "date of the onward referral"),
    )),
]}

# Foreign keys: (table, column) -> (table, column)
FOREIGN_KEYS = {
    ("episodes", "referral_id"): ("referrals", "referral_id"),
    ("incidents", "referral_id"): ("referrals", "referral_id"),
    ("partners", "referral_id"): ("referrals", "referral_id"),
    ("onward_referrals", "referral_id"): ("referrals", "referral_id"),
    ("onward_referrals", "partner_id"): ("partners", "partner_id"),
}
# Dates checked against the extract date: table -> (date columns, which extract date)
EXTRACT_DATE_OF = {"police": "police_extract_date"}
