"""Local stack: the agent, an AgentCore data-plane stand-in and the proxy, on 127.0.0.1."""
