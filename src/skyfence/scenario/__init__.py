"""Scenario files (TOML) and the runner behind ``skyfence assess``."""
