"""The JSON API v1: thin adapters over the services, for other channels and systems (Art. 18, 21)."""
