"""Exceptions raised by policy-monitor.

MonitorError            base of everything we raise on purpose (exit code 2 unless noted)
├── ConfigError         bad configuration file or option
├── DatabaseError       a database URL that cannot be used, or a database that cannot be reached
├── FetchError          a page could not be fetched (network, HTTP status, size)
└── InputError          a file given on the command line cannot be read or parsed
    ├── PageTooComplex  a page built to be slow to parse (too many tags, too deep, a huge text run)
    └── BodyRefused     a body that cannot be decoded, or is too large once decoded
        └── EmptyBody   a body that decodes to nothing but whitespace
"""


class MonitorError(Exception):
    """Base class for expected, user-facing errors."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names file, line and key."""


class DatabaseError(MonitorError):
    """The database URL is unusable or the server unreachable; the message names its origin."""


class FetchError(MonitorError):
    """A page could not be fetched."""


class InputError(MonitorError):
    """An input file is missing or unreadable."""


class PageTooComplex(InputError):
    """A page refused before (or while) parsing it, within a bound on time and memory."""


class BodyRefused(InputError):
    """A fetched body that cannot be used: undecodable, too large once decoded, or empty."""


class EmptyBody(BodyRefused):
    """A 2xx body that, once decoded, is empty or only whitespace."""
