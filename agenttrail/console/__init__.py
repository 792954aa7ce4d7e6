"""The analyst console: server-rendered pages under ``/ui/`` of ``agenttrail serve`` (see ``routes``).

Templates (Jinja2, autoescaped) and static files (the page script, the styles,
and Chart.js vendored with its licence) ship as package data, so the console
works with no network. ``screenshots`` renders the README's pictures from demo data.
"""
