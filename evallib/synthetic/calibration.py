"""The published LLR tables the demo dataset is calibrated to (seeds 000 and 001).

These numbers are the generator's *input*: the demo fixes, for every published cell, how
many referrals, completions, partners and so on fall in it, and leaves who and when to
chance. They are transcribed once here for the generator and once, independently, in
``tests/fixtures/published_tables.yaml`` for the test that checks the generated tables
against the publications; a slip in either makes that test fail.

Where the sources disagree the demo follows seed 001 (see the fixture for every
contradiction). Cells are ``(numerator, denominator)``; the string ``"all"`` stands for a
published "100%" (x of x with x > 0, x left to chance).
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "AREA", "DISTRICTS", "COUNTY", "FY21", "H1_22", "REF_22", "WINDOW", "REFERRALS", "COMPLETIONS",
    "REPEAT_INCIDENTS", "CHILDREN", "PARTNER_ENGAGEMENT", "REDUCED_ABUSE", "FEELS_SAFER", "ALL",
    "on_intervention_targets",
]

AREA = "leicestershire"
COUNTY = ["Blaby", "Charnwood", "Harborough", "Hinckley and Bosworth", "Melton",
          "North West Leicestershire", "Oadby and Wigston"]
DISTRICTS = [*COUNTY, "Rutland", "Leicester City"]

#: Periods of the published tables (both ends included).
FY21 = (date(2021, 4, 1), date(2022, 3, 31))       # "April 2021 - March 2022"
H1_22 = (date(2022, 4, 1), date(2022, 9, 30))      # "April 2022 - Sept 2022"
REF_22 = (date(2022, 4, 1), date(2022, 11, 30))    # "April 2022 - Nov 2022" (referrals)
WINDOW = (date(2021, 4, 1), date(2022, 9, 30))     # "April 2021 - Sept 2022"

ALL = "all"

#: Referrals (received, eligible, self-motivated of the eligible): seed 001 table 1.
REFERRALS: dict[str, dict[str, tuple[int, int, int]]] = {
    "FY21": {
        "Blaby": (16, 15, 7), "Charnwood": (14, 11, 5), "Harborough": (9, 8, 4),
        "Hinckley and Bosworth": (13, 13, 5), "Melton": (8, 7, 1),
        "North West Leicestershire": (12, 12, 1), "Oadby and Wigston": (21, 20, 5),
        "Rutland": (6, 6, 1), "Leicester City": (113, 103, 30),
    },
    "REF_22": {
        "Blaby": (8, 7, 2), "Charnwood": (14, 14, 2), "Harborough": (11, 9, 0),
        "Hinckley and Bosworth": (10, 10, 4), "Melton": (7, 6, 1),
        "North West Leicestershire": (5, 4, 0), "Oadby and Wigston": (9, 8, 1),
        "Rutland": (3, 3, 0), "Leicester City": (51, 39, 11),
    },
}

#: Episodes ended in the period, by programme: (completed, ended). Seed 001 "Completers";
#: a bare published n is n of n, "0" is 0 of 0 and is left out here.
COMPLETIONS: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
    "FY21": {
        "Blaby": {"second_step": (2, 3), "one_to_one": (1, 1), "foundations": (1, 2)},
        "Charnwood": {"second_step": (2, 2), "womens_programme": (1, 1), "step_up_dads": (2, 2)},
        "Harborough": {"second_step": (2, 2), "foundations": (2, 2)},
        "Hinckley and Bosworth": {},
        "Melton": {"second_step": (2, 2), "foundations": (1, 1)},
        "North West Leicestershire": {"second_step": (1, 1), "foundations": (2, 2)},
        "Oadby and Wigston": {"second_step": (1, 2)},
        "Rutland": {},
        "Leicester City": {"second_step": (13, 14), "one_to_one": (1, 1), "womens_programme": (0, 1),
                           "step_up_dads": (2, 2), "foundations": (2, 3)},
    },
    "H1_22": {
        "Blaby": {"second_step": (2, 3), "step_up_dads": (1, 1), "foundations": (1, 1)},
        "Charnwood": {"second_step": (0, 1), "one_to_one": (1, 1), "womens_programme": (1, 1)},
        "Harborough": {"second_step": (2, 2), "step_up_dads": (2, 2)},
        "Hinckley and Bosworth": {"second_step": (2, 2), "foundations": (0, 1)},
        "Melton": {},
        "North West Leicestershire": {"one_to_one": (0, 1)},
        "Oadby and Wigston": {"second_step": (2, 2), "one_to_one": (1, 1), "foundations": (0, 1)},
        "Rutland": {},
        "Leicester City": {"second_step": (4, 4), "one_to_one": (2, 2), "womens_programme": (1, 1),
                           "foundations": (6, 7)},
    },
}

#: People on intervention (not Foundations) in WINDOW: (with a repeat incident, on intervention).
REPEAT_INCIDENTS: dict[str, tuple[int, int]] = {
    "Blaby": (1, 8), "Charnwood": (2, 8), "Harborough": (0, 6), "Hinckley and Bosworth": (0, 2),
    "Melton": (1, 2), "North West Leicestershire": (1, 2), "Oadby and Wigston": (1, 5),
    "Rutland": (0, 0), "Leicester City": (9, 20),
}

#: Children of the people on intervention in WINDOW (published for the county only).
CHILDREN: dict[str, int] = {
    "Blaby": 14, "Charnwood": 12, "Harborough": 10, "Hinckley and Bosworth": 1, "Melton": 1,
    "North West Leicestershire": 2, "Oadby and Wigston": 15,
}

#: Partners offered support in the period: (engaged, offered). Seed 001.
PARTNER_ENGAGEMENT: dict[str, dict[str, tuple[int, int]]] = {
    "FY21": {
        "Blaby": (10, 17), "Charnwood": (19, 27), "Harborough": (13, 14), "Hinckley and Bosworth": (4, 6),
        "Melton": (8, 8), "North West Leicestershire": (5, 5), "Oadby and Wigston": (15, 15),
        "Rutland": (7, 7), "Leicester City": (132, 147),
    },
    "H1_22": {
        "Blaby": (7, 13), "Charnwood": (13, 14), "Harborough": (9, 9), "Hinckley and Bosworth": (4, 5),
        "Melton": (3, 4), "North West Leicestershire": (3, 3), "Oadby and Wigston": (12, 14),
        "Rutland": (0, 0), "Leicester City": (40, 57),
    },
}

#: Partner-reported reduced use of abuse, partners offered in FY21: (reduced, assessed). Seed 000.
REDUCED_ABUSE: dict[str, tuple[int, int]] = {
    "Blaby": (8, 8), "Charnwood": (9, 12), "Harborough": (8, 8), "Hinckley and Bosworth": (3, 3),
    "Melton": (5, 6), "North West Leicestershire": (1, 2), "Oadby and Wigston": (7, 8),
    "Rutland": (3, 4), "Leicester City": (45, 53),
}

#: Engaged partners of people who completed a core programme in the period and feel safer:
#: (yes, answered). FY21 counts from seed 000 (seed 001 gives the same as percentages).
FEELS_SAFER: dict[str, dict[str, tuple[int, int] | str]] = {
    "FY21": {
        "Blaby": (1, 1), "Charnwood": (2, 2), "Harborough": (2, 2), "Hinckley and Bosworth": (0, 0),
        "Melton": (2, 2), "North West Leicestershire": (1, 1), "Oadby and Wigston": (1, 1),
        "Rutland": (0, 0), "Leicester City": (8, 9),
    },
    "H1_22": {
        "Blaby": ALL, "Charnwood": (0, 0), "Harborough": ALL, "Hinckley and Bosworth": ALL,
        "Melton": (0, 0), "North West Leicestershire": (0, 0), "Oadby and Wigston": ALL,
        "Rutland": (0, 0), "Leicester City": ALL,
    },
}

CORE = ("second_step", "one_to_one", "womens_programme")


def on_intervention_targets() -> dict[str, dict[str, int]]:
    """Per district: people on intervention wanted, people the ended-episode cells already
    give, and the difference made up by people still on a programme at the window's end
    (``ongoing``) or by people with two core episodes in the window (``doubles``).

    Every ended core episode in the window is one person unless paired; Step Up Dads
    is done by people who completed Second Step, so it adds nobody.
    """
    out = {}
    for d in DISTRICTS:
        from_cells = sum(n for per in ("FY21", "H1_22") for prog, (_, n) in COMPLETIONS[per][d].items()
                         if prog in CORE)
        target = REPEAT_INCIDENTS[d][1]
        out[d] = {"target": target, "from_cells": from_cells,
                  "ongoing": max(0, target - from_cells), "doubles": max(0, from_cells - target)}
    return out
