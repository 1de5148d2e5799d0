"""Configuration: settings read from the environment, and the embedded services."""
