"""The provisioning workflow: one state machine that the CLI and the wizard both run."""
