#!/usr/bin/env python3
"""victim-api: the small HTTP service that Chaos-Handler breaks on purpose.

A deliberately ordinary web app: python3 stdlib http.server in front of PostgreSQL (psycopg2),
one short-lived DB connection per request (so exhausting the server's connections shows up as
failed requests, as it does for a real app without a pool), an access log in the combined format
and an application log with tracebacks, both appended to one file like many small services do.

Endpoints:
  GET /health   -> 200 {"status":"ok","db":"ok",...} or 503 {"status":"degraded","db":"error",...}
  GET /items    -> 200 {"items":[...]} (rows of the `items` table; ?limit=N, default 20, max 200)
  GET /         -> 200 service banner

Usage: victim_api.py [--listen ADDR] [--port N] [--db DSN] [--log FILE]
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from logging.handlers import WatchedFileHandler
from urllib.parse import parse_qs, urlsplit

try:
    import psycopg2  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - provisioning installs python3-psycopg2
    sys.stderr.write("victim-api: python3-psycopg2 is required (apt-get install python3-psycopg2)\n")
    sys.exit(2)

LOG = logging.getLogger("victim-api")
ACCESS = logging.getLogger("victim-api.access")
VERSION = "1.0.0"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Chaos-Handler victim HTTP service")
    p.add_argument("--listen", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    p.add_argument(
        "--db",
        default="host=127.0.0.1 port=5432 dbname=victim user=victim connect_timeout=2 application_name=victim-api",
        help="libpq connection string",
    )
    p.add_argument("--log", default="/var/log/victim-api.log", help="log file ('-' for stderr)")
    return p.parse_args(argv)


def setup_logging(path: str) -> None:
    def handler() -> logging.Handler:
        if path == "-":
            return logging.StreamHandler(sys.stderr)
        # WatchedFileHandler reopens the file after logrotate moves it.
        return WatchedFileHandler(path)

    app_handler = handler()
    app_handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d%(tz)s %(levelname)s [%(name)s] %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    app_handler.addFilter(_TzFilter())
    LOG.addHandler(app_handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    # Access lines are fully formatted by the handler (combined log format).
    access_handler = handler()
    access_handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS.addHandler(access_handler)
    ACCESS.setLevel(logging.INFO)
    ACCESS.propagate = False


class _TzFilter(logging.Filter):
    """Adds the local UTC offset (+0000) so every line carries an unambiguous timestamp."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.tz = time.strftime("%z", time.localtime(record.created))
        return True


class App:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.started = time.time()
        self.requests = 0
        self.lock = threading.Lock()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = 2000")
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


class Handler(BaseHTTPRequestHandler):
    server_version = "victim-api/" + VERSION
    protocol_version = "HTTP/1.1"
    app: App  # set on the class by main()

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        t0 = time.monotonic()
        url = urlsplit(self.path)
        status, body = 500, {"error": "internal"}
        try:
            if url.path == "/health":
                status, body = self.health()
            elif url.path == "/items":
                status, body = self.items(parse_qs(url.query))
            elif url.path == "/":
                status, body = 200, {"service": "victim-api", "version": VERSION}
            else:
                status, body = 404, {"error": "not found", "path": url.path}
        except Exception:  # noqa: BLE001 - a real app logs and answers 500
            LOG.exception("unhandled error on %s", url.path)
            status, body = 500, {"error": "internal server error"}
        self.respond(status, body, time.monotonic() - t0)

    def health(self) -> tuple[int, dict]:
        t0 = time.monotonic()
        try:
            rows = self.app.query("SELECT count(*) FROM items")
            ms = round((time.monotonic() - t0) * 1000, 1)
            return 200, {"status": "ok", "db": "ok", "db_latency_ms": ms, "items": rows[0][0]}
        except psycopg2.Error as e:
            msg = _pg_message(e)
            LOG.error("health check failed: database unavailable: %s", msg)
            return 503, {"status": "degraded", "db": "error", "error": msg}

    def items(self, qs: dict) -> tuple[int, dict]:
        try:
            limit = max(1, min(200, int(qs.get("limit", ["20"])[0])))
        except ValueError:
            return 400, {"error": "limit must be an integer"}
        try:
            rows = self.app.query(
                "SELECT id, name, price::float8, created_at FROM items ORDER BY id LIMIT %s", (limit,)
            )
        except psycopg2.Error as e:
            msg = _pg_message(e)
            LOG.error("GET /items failed: %s", msg)
            return 503, {"error": "database unavailable", "detail": msg}
        items = [{"id": r[0], "name": r[1], "price": r[2], "created_at": r[3].isoformat()} for r in rows]
        return 200, {"items": items, "count": len(items)}

    def respond(self, status: int, body: dict, elapsed: float) -> None:
        data = (json.dumps(body) + "\n").encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            LOG.warning("client %s went away before the response was sent", self.client_address[0])
        self._access(status, len(data), elapsed)

    def _access(self, status: int, size: int, elapsed: float) -> None:
        # Combined log format plus the response time, as nginx's "main_timed" does.
        ts = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        ref = self.headers.get("Referer", "-")
        ua = self.headers.get("User-Agent", "-")
        ACCESS.info(
            '%s - - [%s] "%s" %d %d "%s" "%s" rt=%.3f',
            self.client_address[0], ts, self.requestline.replace('"', "%22"), status, size, ref, ua, elapsed,
        )

    def log_request(self, code: object = "-", size: object = "-") -> None:
        pass  # every request is logged once, by _access(), with its response time

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        # http.server's own messages (bad requests, timeouts) go to the app log as warnings.
        LOG.warning("http: " + format, *args)


def _pg_message(e: Exception) -> str:
    return " ".join(str(e).split())[:300] or e.__class__.__name__


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    Handler.app = App(args.db)
    try:
        server = ThreadingHTTPServer((args.listen, args.port), Handler)
    except OSError as e:
        LOG.error("cannot listen on %s:%d: %s", args.listen, args.port, e)
        sys.stderr.write(f"victim-api: cannot listen on {args.listen}:{args.port}: {e}\n")
        return 1
    server.daemon_threads = True

    def stop(signum: int, _frame: object) -> None:
        LOG.info("received %s, shutting down", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info("victim-api %s listening on %s:%d", VERSION, args.listen, args.port)
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    LOG.info("victim-api stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
