"""Routing: classify a complaint (category, region, confidence) and resolve the responsible agency.

Modules: `types` (the shared models), `normalize`, `classifier`, `gazetteer` (category and region),
`registry` (agencies by jurisdiction, kept as data in config/), `decide` (threshold -> auto or triage).
"""
