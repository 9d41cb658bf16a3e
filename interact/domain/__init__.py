"""The domain: models, state enums, the kinds and workflow tables, and pure helpers (the working-day
calendar, the deadline rule, the personal-data detector). Nothing here imports a service or an adapter."""
