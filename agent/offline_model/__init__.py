"""The offline model: a deterministic Strands model for the local stack, the tests and the bench.

Test-only code, never deployed: it sits beside streaming_agent/ (not in it), so the agent zip (whose
packager lists main.py and streaming_agent/ only) and the container image (agent/Dockerfile copies
the same two; agent/.dockerignore leaves this folder out as well) do not carry it. The agent imports
it only when AGENT_MODEL_PROVIDER=offline (streaming_agent/model_factory.py), which works in a
checkout, where agent/ is on the import path; a deployed agent asked for it refuses to start.
"""
