"""Every default in one place, each with a one-line reason.

Modules read their defaults from here instead of keeping constants of their own; the
configuration file overrides the ones a user may want to change (see ``monitor.config``).
Sections: fetching, the chain, events and delivery, storage.
"""

from __future__ import annotations

# -- fetching -------------------------------------------------------------------------------
USER_AGENT = "policy-monitor/0.1 (+https://github.com/policy-monitor/policy-monitor)"
CONCURRENCY = 16  # parallel requests in one crawl
PER_DOMAIN_CONCURRENCY = 8  # gov.uk asks for under 10 requests a second
TIMEOUT_S = 30.0  # per request, connect to last byte
MAX_BODY_MB = 20.0  # bodies above this are refused, never truncated
RETRIES = 3  # for 429, 5xx and connection errors
RETRY_AFTER_MAX_S = 60.0  # a longer Retry-After is capped, not obeyed
RETRY_BACKOFF_BASE_S = 1.0  # first wait when a 429/503 gives no Retry-After; doubled each retry
RETRY_HTTP_CODES = (408, 429, 500, 502, 503, 504, 522, 524)  # answers worth asking again
RETRY_AFTER_CODES = (429, 503)  # answers whose Retry-After header is honoured
MAX_CHILD_SITEMAPS = 20  # children of one sitemap index read per poll
MAX_SEARCH_PAGES = 5  # Search API pages read per poll (1 on the first, baseline poll)
MAX_SEEN = 5000  # URLs remembered per feed or search, for telling new entries from old
FAILURES_BEFORE_REMOVED = 3  # consecutive 404/410 answers before "page removed"
FAILURES_BEFORE_ERROR = 5  # consecutive failed checks (5xx, timeouts...) before one error event
REMOVED_STATUSES = (404, 410)  # the only answers that can mean a page is gone
ALLOW_PRIVATE_ENV = "POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES"  # opt-in when the config is silent

MAX_TAGS = 200_000  # a page with more "<" than this is refused unread (a big gov.uk page: ~20k)

# -- the chain --------------------------------------------------------------------------------
SITEWIDE_MIN_PAGES = 3  # the same edit on this many pages of a site is one site-wide event
INLINE_BELOW = 24  # pages: fewer are analysed inline (a process pool costs ~0.5 s to start)
QUOTE_CHARS = 600  # evidence quotes are clipped to this many characters

# -- events and delivery --------------------------------------------------------------------
DEDUP_KEY_MAX = 300  # the outbox's dedup-key column; longer keys keep a prefix and a hash
DELIVERY_MAX_ATTEMPTS = 8  # then the delivery is dead-lettered with its last error
DELIVERY_BACKOFF_S = 30.0  # first retry after this; doubled each attempt
DELIVERY_BACKOFF_MAX_S = 6 * 3600.0  # never wait longer than this between attempts
DELIVERY_STALE_CLAIM_S = 15 * 60.0  # a claim this old was left by a crashed run
SIGNUPS_PER_ADDRESS_HOUR = 5  # sign-up requests one address may make in an hour
SIGNUPS_PER_HOUR = 200  # sign-up requests accepted in an hour, all addresses together
CONFIRM_TOKEN_MAX_AGE_S = 48 * 3600  # a confirmation link expires after this

# -- the daemon (``policy-monitor run``) -----------------------------------------------------
DISCOVERY_EVERY_S = 300.0  # feeds and searches are polled this often: the alert latency bound
DELIVER_EVERY_S = 30.0  # for retries; a cycle that wrote events delivers at once
CRAWL_JITTER_S = 60.0  # re-crawls spread by up to this (at most a tenth of their interval)
DEADLINES_AT = "07:00"  # Europe/London: deadline checks once a day, before the working day
LOCK_CHECK_S = 30.0  # how often the daemon checks it still holds the scheduler lock

# -- storage ----------------------------------------------------------------------------------
DATABASE_ENV = "POLICY_MONITOR_DATABASE_URL"
DATABASE_URL = "sqlite:///policy-monitor.db"  # the embedded default, in the working folder
PG_CONNECT_TIMEOUT_S = 10  # an unreachable PostgreSQL server fails in seconds, not minutes
SQLITE_BUSY_TIMEOUT_MS = 30_000  # a second writer waits this long instead of failing at once

# -- operations -------------------------------------------------------------------------------
HEALTH_MAX_POLL_AGE_S = 6 * 3600.0  # /healthz fails when no page was fetched well for this long
# -- the task queue (PostgreSQL only) ---------------------------------------------------------
QUEUE_NAME = "monitor"  # the procrastinate queue every task goes to
QUEUE_BATCH_PAGES = 50  # pages per crawl task: small enough to spread, big enough to amortise
QUEUE_HEARTBEAT_S = 2.0  # a worker marks itself alive this often (one tiny UPDATE)
QUEUE_STALLED_S = 10.0  # a worker silent this long is dead; its tasks are run again
QUEUE_MAX_ATTEMPTS = 5  # a task that raised is retried, after 2, 4, 8... s, this many times
QUEUE_KEEP_JOBS_HOURS = 72  # finished tasks stay visible this long, then are pruned
