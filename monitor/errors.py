"""Exceptions raised by policy-monitor.

MonitorError            base of everything we raise on purpose
├── ConfigError         bad configuration file or option (exit code 2)
├── FetchError          a page could not be fetched (network, HTTP status, size)
└── InputError          a file given on the command line cannot be read or parsed
"""


class MonitorError(Exception):
    """Base class for expected, user-facing errors."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names file, line and key."""


class FetchError(MonitorError):
    """A page could not be fetched."""


class InputError(MonitorError):
    """An input file is missing or unreadable."""
