"""Plain words for the evaluation report: model messages in the reader's English, and a glossary.

The statistics modules speak to analysts ("7 term(s)", "treated people", "propensity
scores", ``risk_level[high]``). A commissioner reading the report should not need to know
those words, so each message is rewritten here before it is shown, after its counts are
taken out (:func:`evallib.present.safe_text`). The few technical terms the report keeps
are explained in :func:`glossary_html`.
"""

from __future__ import annotations

import re

from evallib.present import safe_text

__all__ = ["COVARIATE_LABELS", "FLOW_REASONS", "plain_words", "note_text", "covariate_label", "glossary_html"]

#: Reader's names of the recorded characteristics the models allow for (data-contract columns).
COVARIATE_LABELS = {
    "risk_level": "risk level", "prior_da_incidents": "police domestic-abuse incidents before referral",
    "substance_misuse": "substance misuse", "mental_health": "mental-health needs",
    "self_referred": "self-referral", "age": "age", "children_in_household": "children in the household",
    "gender": "gender", "ethnicity": "ethnicity",
}

#: The record flow's reasons in the reader's words (the cohort code names its columns).
FLOW_REASONS = {"rows in referrals": "referral records", "distinct person_id": "different people"}

# (pattern, replacement), applied in order; each states the same thing in plain words.
_PHRASES: list[tuple[str, str]] = [
    (r"\bfor (\d+) term\(s\)", r"for \1 characteristics allowed for (each category counts as one)"),
    (r"\bfewer than (\d+) (?:events )?per term\b", r"fewer than \1 per characteristic"),
    (r"\b(Few|Some|\d+) events\b", r"\1 proven reoffences"),
    (r"\btreated people\b", "completers"),
    (r"\bmatched treated people\b", "matched completers"),
    (r"\bpropensity scores\b", "estimated chances of completing"),
    (r"\bpropensity score\b", "estimated chance of completing"),
    (r"no comparable comparison exists for them", "no non-completer is like them"),
    (r"\bthe comparison group's weight\b", "the non-completers' total weight"),
    (r"\bthe comparison group\b", "the non-completers"),
    (r"\b[Oo]ne comparison person\b", "One non-completer"),
    (r"\bcomparison person\b", "non-completer"),
    (r"\bcomparison people\b", "non-completers"),
    (r"\(\|SMD\| >= 0\.1\)", "(a standardised difference of 0.1 or more)"),
    (r"\bcovariates\b", "recorded characteristics"),
    (r"\bcovariate\b", "recorded characteristic"),
    (r"\bCovariate\b", "The recorded characteristic"),
]


def covariate_label(term: str) -> str:
    """``risk_level[high]`` -> "risk level: high"; ``prior_da_incidents`` -> its reader's name."""
    var, _, level = term.strip().strip("'\"").partition("[")
    label = COVARIATE_LABELS.get(var, var.replace("_", " "))
    return f"{label}: {level.rstrip(']').replace('_', ' ')}" if level else label


def plain_words(text: str) -> str:
    """A model message in the reader's English: no variable names, no "term(s)", no "treated"."""
    # Variable names, quoted ('risk_level') or bare with a level (risk_level[high]) or an underscore.
    text = re.sub(r"'([a-z_]+(?:\[[^\]]*\])?)'", lambda m: f"'{covariate_label(m.group(1))}'", text)
    text = re.sub(r"\b[a-z]+(?:_[a-z]+)*\[[^\]]+\]|\b[a-z]+(?:_[a-z]+)+\b",
                  lambda m: covariate_label(m.group(0)), text)

    # "... remain imbalanced (...): risk level: high, age." -> names in a readable list.
    def names(m: re.Match) -> str:
        items = [covariate_label(x) for x in m.group(2).split(", ")]
        return f"{m.group(1)}{'; '.join(items)}."

    text = re.sub(r"(imbalanced \([^)]*\): )([^.]+)\.", names, text)
    for pattern, repl in _PHRASES:
        text = re.sub(pattern, repl, text)
    return text[:1].upper() + text[1:]


def note_text(message: str, threshold: int) -> str:
    """A model message for the report: counts taken out (:func:`safe_text`), then plain words."""
    return plain_words(safe_text(message, threshold))


_GLOSSARY = [
    ("95% interval", "The range of values consistent with the data: if the study were repeated many times, "
     "95 in 100 such ranges would contain the true value. A wide range means an uncertain figure."),
    ("Statistically significant", "A difference too large to be put down to chance alone (p-value at most "
     "0.05), in groups large enough to judge (the Justice Data Lab rule). Not significant is not the same as "
     "no difference: it can mean the groups are too small to tell."),
    ("p-value", "How often a difference at least this large would arise by chance if there were truly none. "
     "Holm-adjusted p-values allow for several outcomes being tested at once."),
    ("Standardised mean difference (SMD)", "How far apart two groups are on a characteristic, in units that "
     "do not depend on how it is measured; 0.1 or more (either way) is a difference that matters."),
    ("Odds ratio, hazard ratio", "How much more (above 1) or less (below 1) likely completers were to "
     "reoffend, or to reoffend sooner, than non-completers who were alike on the recorded characteristics."),
    ("Propensity-score weighting", "Counting each non-completer more or less so that, taken together, they "
     "resemble the completers on the recorded characteristics; the weighted difference estimates the "
     "programme's average effect on the people who completed it, if nothing unrecorded differs."),
    ("Kaplan-Meier, log-rank test", "The share of each group still without a proven reoffence, month by "
     "month; the log-rank test asks whether the two curves differ by more than chance."),
    ("Index date", "The day follow-up starts: the end of the programme (or its start, if the report says so)."),
    ("[c]", "A figure not shown to protect confidentiality, because it is a small count or could be worked "
     "out from one."),
]


def glossary_html() -> str:
    """The technical terms the report keeps, each explained in a sentence or two."""
    # Each term with its meaning in one <div> (allowed in a <dl>), so print never parts them.
    items = "".join(f"<div><dt>{term}</dt><dd>{meaning}</dd></div>" for term, meaning in _GLOSSARY)
    return f'<dl class="evl-glossary">{items}</dl>'
