"""A blast radius as one self-contained HTML page a security team can attach to an incident.

Jinja2 renders ``agenttrail/templates/blast_radius.html`` with autoescaping on, and
every value passes ``_shown`` first: control and bidi characters become visible
escapes (``agenttrail.output.inert``), then HTML escaping makes markup and quotes
inert, in text and in attribute values alike (stored values are attacker-controlled).
No script, no external resource (the page's Content-Security-Policy allows only its
own inline style); a URL from the trail is shown as text, never made a link. The
lineage is a nested list drawn by CSS.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from agenttrail.output import inert


def _shown(value: Any) -> Any:
    """Every ``{{ value }}`` of the template: None as nothing, lists joined, text made inert (then escaped)."""
    if isinstance(value, Markup):
        return value  # the template's own markup (a macro's output), already escaped
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(inert(str(item)) for item in value)
    return inert(str(value))


_ENVIRONMENT = Environment(loader=PackageLoader("agenttrail", "templates"), autoescape=True, finalize=_shown,
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


# The page needs its inline style and nothing else: no script, no outside resources, no referrer (URLs name tokens).
REPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                  "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def render_html(report: dict[str, Any]) -> str:
    """The report (``BlastRadius.to_dict()``, as the JSON endpoint answers it) as an HTML document."""
    return _ENVIRONMENT.get_template("blast_radius.html").render(r=report)
