"""The dashboard at /ui: server-rendered pages (Jinja2, htmx, Chart.js, all served by the app)
that call the same domain functions as the API."""
