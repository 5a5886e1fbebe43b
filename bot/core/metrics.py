"""Prometheus metrics and the optional HTTP endpoint (``/metrics``, ``/healthz``), counted where the bot
meets the engine so the engine stays free of monitoring code; one registry per process, so bots in
one process never share counts. Off unless ``POLICYBOT_METRICS_PORT`` is set; loopback by default.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from index import Answer, IndexStats, PolicybotError

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
VOTES = ("up", "down")
WRITTEN_OUTCOMES = ("passed", "fallback", "error")
"""Label values exported at zero from the start, so a dashboard's rate() has a series to read."""


class IndexCollector(Collector):
    """Version number and size of the live index, read when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], IndexStats]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        try:
            stats = self.stats()
        except (PolicybotError, OSError):
            return  # no index yet: no index metrics rather than a failed scrape
        number = stats.version[1:7]
        yield GaugeMetricFamily("policybot_index_version", "Number of the live index version", int(number) if number.isdigit() else 0)
        yield InfoMetricFamily("policybot_index", "The live index version", {"version": stats.version, "model": stats.model})
        yield GaugeMetricFamily("policybot_index_articles", "Articles in the live index", stats.articles)
        yield GaugeMetricFamily("policybot_index_chunks", "Chunks in the live index", stats.chunks)


class Metrics:
    def __init__(self, stats: Callable[[], IndexStats] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter("policybot_questions", "Questions answered", ["kind"], registry=r)
        self.latency = Histogram(
            "policybot_answer_seconds", "Time from question to answer", buckets=LATENCY_BUCKETS, registry=r
        )
        self.abstentions = Counter("policybot_abstentions", "Questions answered with 'not found'", registry=r)
        self.question_errors = Counter("policybot_question_errors", "Questions that failed", registry=r)
        self.feed_polls = Counter("policybot_feed_polls", "Feed polls run", registry=r)
        self.feed_errors = Counter("policybot_feed_errors", "Feed or page errors reported by polls", registry=r)
        self.feed_articles = Counter("policybot_feed_articles", "New articles ingested from feeds", registry=r)
        self.feeds_failing = Gauge(
            "policybot_feeds_failing", "Feeds that failed POLICYBOT_FEEDS_ALERT_AFTER polls in a row and have not worked since", registry=r
        )
        self.feed_alerts = Counter(
            "policybot_feed_alerts", "Feed alerts posted (kind: failing or recovered)", ["kind"], registry=r
        )
        self.leader = Gauge("policybot_leader", "1 when this process ingests and builds", registry=r)
        self.replies_withheld = Counter(
            "policybot_replies_withheld",
            "Messages not answered because Discord refused the bot's messages in that channel lately",
            registry=r,
        )
        self.digests = Counter(
            "policybot_digests_posted", "Digests posted, by trigger (command, schedule)", ["trigger"], registry=r
        )
        self.votes = Counter(
            "policybot_votes", "👍/👎 votes recorded on answers (vote: up, down)", ["vote"], registry=r
        )
        self.written = Counter(
            "policybot_written_answers",
            "Written answers tried (outcome: passed, fallback when not used, error when writing failed)",
            ["outcome"],
            registry=r,
        )
        for vote in VOTES:
            self.votes.labels(vote)
        for outcome in WRITTEN_OUTCOMES:
            self.written.labels(outcome)
        self.connected = Gauge("policybot_gateway_connected", "1 when the Discord gateway is connected", registry=r)
        ProcessCollector(registry=r)  # memory, CPU, open files: the dashboard's process health
        if stats is not None:
            r.register(IndexCollector(stats))

    def answered(self, answer: Answer, seconds: float, kind: str = "ask") -> None:
        self.questions.labels(kind).inc()
        self.latency.observe(seconds)
        if not answer.answerable:
            self.abstentions.inc()

    def polled(self, errors: int, articles: int) -> None:
        self.feed_polls.inc()
        self.feed_errors.inc(errors)
        self.feed_articles.inc(articles)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` (Prometheus text) and ``/healthz`` (200 "ok" or 503 with the reason) in a
    daemon thread; ``health`` returns None when healthy, else a one-line reason."""

    def __init__(self, metrics: Metrics, health: Callable[[], str | None], host: str, port: int) -> None:
        handler = _handler(metrics, health)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", self.server.server_address[0], self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(metrics: Metrics, health: Callable[[], str | None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                try:
                    reason = health()
                except Exception as exc:  # a health probe must answer, not hang up
                    reason = f"health check failed: {exc}"
                self._send(503 if reason else 200, (reason or "ok").encode() + b"\n", "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds would flood the log; nothing to say about them."""

    return Handler
