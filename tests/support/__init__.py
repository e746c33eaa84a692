"""Helpers, fakes and fixture plugins shared by the test folders (import as `tests.support.<module>`;
the plugins, program_runs.py and auth_stacks.py, are registered once in tests/conftest.py)."""
