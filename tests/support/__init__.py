"""Helpers shared by every test folder (import as `tests.support.<module>`)."""
