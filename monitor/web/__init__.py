"""The web app: public pages, the JSON API and (in ``team``) the team view.

One more face over the core, like the notifiers: it reads through the store's queries
(:mod:`monitor.queries`) and writes through the services the CLI uses.
"""

from monitor.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
