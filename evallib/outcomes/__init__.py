"""Outcome definitions: one documented function each, vectorised over people.

``reoffending``: proven reoffending by the Ministry of Justice definition, frequency,
time to first reoffence, police-recorded incidents before and after.
``service``: the service outcomes of the published tables (completion, repeat
incidents while on intervention, partner engagement and safety, children).
"""
