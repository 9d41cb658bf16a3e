"""The service layer: every rule of the platform lives here, never in views, API or CLI.

Services take the acting user, change state, flush (never commit) and write the timeline.
Adapters validate input, call a service, commit once through `unit_of_work`, and respond.
"""
