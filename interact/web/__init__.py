"""What the web adapters (public pages, staff pages, JSON API) share: Flask extensions, error pages
and security headers (`pages`), rate limits, log scrubbing, and the staff-action runner."""
