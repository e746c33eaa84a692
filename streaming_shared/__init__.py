"""What both deployables share: the HTTP edge contract, the JSON log format, and the few facts the
stack's settings check against the agent and the proxy (guardrail grammar, tool-call ceiling, auth
mode names).

Standard library only, and nothing else of the project: the packager ships this package at the root
of both zips (and the agent's container image), and `components/`, `stack_config/`, `local/`,
`policy/`, `client/` and `bench/` import it from the repository root under the same name.
"""
