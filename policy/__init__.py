"""Security and operability rules for this project's stacks (named after cdk-nag's checks)."""
