"""The streaming Strands agent served by Bedrock AgentCore Runtime (see app.create_app)."""
