"""The stack's configuration model: the settings parser, the auth types, regions, names, custom
domain names and the guardrail setting. Plain Python (no Pulumi resources), so `components/`,
`local/` and `policy/` all read the same model; it imports nothing of `components/` or `packager/`.
"""
