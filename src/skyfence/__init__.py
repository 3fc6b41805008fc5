"""skyfence: digital twin of a LEO satellite-internet system and of the political control of its service."""
