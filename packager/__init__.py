"""Build steps: the deployable zips of the proxy and the agent (`pulumi up` runs them itself).

Not named `packaging`: that would shadow the PyPI library pip and pytest import.
"""
