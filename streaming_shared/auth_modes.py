"""How the API authenticates callers: the authMode config values, which the stack exports as its
`authMode` output, the client reads back (client/stack.py) and the local gateway enforces.
The types behind them (what each mode needs) are stack_config/auth.py's.
"""

from __future__ import annotations

NO_AUTH = "none"
API_KEY = "apiKey"
IAM = "iam"
COGNITO = "cognito"
# In the order the README and errors list them.
AUTH_MODES: tuple[str, ...] = (NO_AUTH, API_KEY, IAM, COGNITO)
