"""A clickable link to a live server: through jupyter-server-proxy on JupyterHub/Binder,
plain localhost elsewhere."""

from __future__ import annotations

import os

from IPython.display import HTML

__all__ = ["browser_url", "server_link"]


def browser_url(server, path: str = "/") -> str:  # noqa: ANN001 (a coursekit.LiveServer)
    """The URL a learner's browser can open for ``server`` (proxied inside JupyterHub)."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return f"{prefix.rstrip('/')}/proxy/{server.port}{path}"
    return f"{server.url}{path}"


def server_link(server, path: str = "/", text: str | None = None) -> HTML:  # noqa: ANN001
    """A link that opens the live server in a new browser tab."""
    url = browser_url(server, path)
    label = text or f"Open {url} in your browser"
    return HTML(f'<a href="{url}" target="_blank" rel="noopener">{label}</a>')
