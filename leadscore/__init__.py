"""leadscore: command line and settings."""
