"""Fixtures that test folders share, registered once for the whole suite. Each plugin is a module of
tests/support (helpers live there too, imported as `tests.support.<module>`); a folder's own
conftest.py holds only the fixtures of that folder."""

pytest_plugins = [
    # Pulumi program runs under mocks (dev_run, prod_run, ...), and the zips built before them:
    # tests/components, tests/policy, tests/packager.
    "tests.support.program_runs",
    # One local stack per auth mode (apikey_stack, iam_stack, cognito_stack): tests/system/auth,
    # tests/client, tests/local.
    "tests.support.auth_stacks",
]
