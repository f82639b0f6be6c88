"""Kemala: public complaints on X become tracked, routed, audited tickets.

Everything that runs in Lambda lives in this package (the `kemala` layer). Modules are imported
lazily by the functions that need them, so keep this file free of imports: cold start matters.
"""

__version__ = "0.1.0"
