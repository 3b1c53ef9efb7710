"""The four reports and what they publish, in one place.

``evaluation`` (completers versus non-completers, one module per section),
``partners`` (Partner Support Service outcomes), ``service`` (the provider's published
tables) and ``quarterly`` (the Home Office / OPCC quarterly return). A reader finds any
published number by following one path: notebook -> report module -> disclosure ->
stats/outcomes.
"""
