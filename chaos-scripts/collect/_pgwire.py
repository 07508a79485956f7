"""A minimal PostgreSQL client (protocol v3, simple query, text results), python3 stdlib only.

Why not psql or psycopg2: the sampler runs every second on hosts where neither may be installed,
spawning psql twice a second costs more CPU than the rest of the sampler, and a probe must measure
the database, not process start-up. Supports trust, cleartext, md5 and SCRAM-SHA-256
authentication, TCP and Unix sockets, no TLS (the victim database listens on loopback or a private
address only).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pwd
import socket
import stat
import struct
import sys
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit


class PgError(Exception):
    """Connection or query failure, worded like libpq does (`FATAL:  sorry, too many clients already`)."""

    def __init__(self, message: str, code: str = "", severity: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.severity = severity


def parse_dsn(dsn: str) -> Dict[str, str]:
    """URI (postgresql://user:pw@host:port/db?k=v) or key=value form. Returns libpq-style keys."""
    params: Dict[str, str] = {}
    if dsn.startswith(("postgresql://", "postgres://")):
        u = urlsplit(dsn)
        if u.hostname:
            params["host"] = unquote(u.hostname)
        if u.port:
            params["port"] = str(u.port)
        if u.username:
            params["user"] = unquote(u.username)
        if u.password:
            params["password"] = unquote(u.password)
        if u.path and u.path != "/":
            params["dbname"] = unquote(u.path[1:])
        for k, v in parse_qs(u.query).items():
            params[k] = v[-1]
    else:
        for n, item in enumerate(dsn.split(), 1):
            k, sep, v = item.partition("=")
            if not sep or not k:
                # The item itself is not repeated: it could be part of a password.
                raise PgError(f"invalid connection string: item {n} is not key=value")
            params[k] = v.strip("'")
    params.setdefault("host", DEFAULT_SOCKET_DIR)
    params.setdefault("port", "5432")
    params.setdefault("user", os.environ.get("USER", "postgres"))
    params.setdefault("dbname", params["user"])
    return params


DEFAULT_SOCKET_DIR = "/var/run/postgresql"


def _passfile_and_owner() -> Tuple[Optional[str], Optional[int]]:
    """The password file libpq would read for the user who invoked us, and who must own it.

    Under sudo that is the invoking user's (SUDO_USER's ~/.pgpass), never root's: the coordinator's
    login user keeps the password in a file of its own, not on any command line."""
    uid = os.geteuid()
    home = os.environ.get("HOME")
    sudo_user, sudo_uid = os.environ.get("SUDO_USER"), os.environ.get("SUDO_UID")
    if uid == 0 and sudo_user and sudo_uid and sudo_uid.isdigit():
        try:
            entry = pwd.getpwnam(sudo_user)
        except KeyError:
            return None, None
        if entry.pw_uid != int(sudo_uid):
            return None, None
        uid, home = entry.pw_uid, entry.pw_dir
    elif not home:
        try:
            home = pwd.getpwuid(uid).pw_dir
        except KeyError:
            home = None
    explicit = os.environ.get("PGPASSFILE")
    if explicit:
        return explicit, uid
    return (os.path.join(home, ".pgpass"), uid) if home else (None, None)


def _pgpass_fields(line: str) -> List[str]:
    fields, cur, esc = [], "", False
    for ch in line:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ":" and len(fields) < 4:
            fields.append(cur)
            cur = ""
        else:
            cur += ch
    fields.append(cur)
    return fields


def password_from_passfile(host: str, port: str, dbname: str, user: str) -> Optional[str]:
    """libpq's lookup in the password file (host:port:database:username:password, * matches
    anything, \\: and \\\\ escaped; a Unix-socket connection to the default socket directory is
    "localhost"). Like libpq, a file with any group or world permission is ignored with a warning;
    it must also belong to the invoking user (or root), and be a regular file."""
    path, owner = _passfile_and_owner()
    if not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            sys.stderr.write(f'WARNING: password file "{path}" is not a plain file\n')
            return None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            sys.stderr.write(f'WARNING: password file "{path}" has group or world access; permissions should be u=rw (0600) or less\n')
            return None
        if st.st_uid not in (owner, 0):
            sys.stderr.write(f'WARNING: password file "{path}" does not belong to the invoking user; ignored\n')
            return None
        text = f.read(1 << 20).decode("utf-8", "replace")
    if host.startswith("/"):
        host = "localhost" if host.rstrip("/") == DEFAULT_SOCKET_DIR else host
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _pgpass_fields(line)
        if len(fields) != 5:
            continue
        if all(f == "*" or f == want for f, want in zip(fields[:4], (host, port, dbname, user))):
            return fields[4]
    return None


class Connection:
    def __init__(self, dsn: str, timeout: float = 2.0, application_name: Optional[str] = None) -> None:
        p = parse_dsn(dsn)
        self.timeout = float(p.get("connect_timeout", timeout) or timeout)
        self.host, self.port = p["host"], int(p["port"])
        where = f'server at "{self.host}", port {self.port}'
        if self.host.startswith("/"):
            where = f'server on socket "{self.host}/.s.PGSQL.{self.port}"'
        self.where = where
        try:
            if self.host.startswith("/"):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(self.timeout)
                self.sock.connect(f"{self.host}/.s.PGSQL.{self.port}")
            else:
                self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise PgError(f"connection to {where} failed: {e.strerror or e}") from e
        self._buf = b""
        try:
            self._startup(p, application_name or p.get("application_name", ""))
        except BaseException:
            self.close()
            raise

    # --- protocol -------------------------------------------------------------------------------
    def _send(self, kind: bytes, payload: bytes) -> None:
        self.sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)

    def _recv_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as e:
                raise PgError(f"timeout waiting for {self.where}") from e
            except OSError as e:
                raise PgError(f"connection to {self.where} lost: {e.strerror or e}") from e
            if not chunk:
                raise PgError(f"server closed the connection unexpectedly ({self.where})")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _recv(self) -> Tuple[bytes, bytes]:
        head = self._recv_exact(5)
        kind, length = head[:1], struct.unpack("!I", head[1:])[0]
        return kind, self._recv_exact(length - 4)

    @staticmethod
    def _error(payload: bytes) -> PgError:
        fields: Dict[str, str] = {}
        for part in payload.split(b"\0"):
            if part:
                fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
        sev = fields.get("V") or fields.get("S") or "ERROR"
        return PgError(f"{sev}:  {fields.get('M', 'unknown error')}", fields.get("C", ""), sev)

    def _startup(self, p: Dict[str, str], app: str) -> None:
        kv = {"user": p["user"], "database": p["dbname"], "client_encoding": "UTF8"}
        if app:
            kv["application_name"] = app
        body = struct.pack("!I", 196608) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in kv.items()) + b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        password_cache: List[str] = []

        def password() -> str:
            # Looked up only when the server asks for one (trust and peer need none).
            if not password_cache:
                found = p.get("password") or os.environ.get("PGPASSWORD") or password_from_passfile(p["host"], p["port"], p["dbname"], p["user"])
                if found is None:
                    raise PgError(f'connection to {self.where} failed: fe_sendauth: no password supplied (none in the password file for {p["user"]}@{p["host"]}:{p["port"]}/{p["dbname"]})')
                password_cache.append(found)
            return password_cache[0]

        scram: Optional[_Scram] = None
        while True:
            kind, payload = self._recv()
            if kind == b"E":
                raise self._error(payload)
            if kind == b"R":
                code = struct.unpack("!I", payload[:4])[0]
                if code == 0:
                    continue
                if code == 3:
                    self._send(b"p", password().encode() + b"\0")
                elif code == 5:
                    inner = hashlib.md5(password().encode() + p["user"].encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + payload[4:8]).hexdigest()
                    self._send(b"p", b"md5" + outer.encode() + b"\0")
                elif code == 10:
                    mechs = payload[4:].split(b"\0")
                    if b"SCRAM-SHA-256" not in mechs:
                        raise PgError("server offered no supported SASL mechanism")
                    scram = _Scram(password())
                    first = scram.client_first()
                    self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
                elif code == 11 and scram is not None:
                    self._send(b"p", scram.client_final(payload[4:]))
                elif code == 12 and scram is not None:
                    scram.verify(payload[4:])
                else:
                    raise PgError(f"unsupported authentication method (code {code})")
            elif kind == b"Z":
                return
            # S (ParameterStatus), K (BackendKeyData), N (notice): nothing to do.

    def query(self, sql: str) -> List[Tuple[Optional[str], ...]]:
        """Runs one statement; returns the rows of its (last) result set as text values."""
        self._send(b"Q", sql.encode() + b"\0")
        rows: List[Tuple[Optional[str], ...]] = []
        error: Optional[PgError] = None
        while True:
            kind, payload = self._recv()
            if kind == b"T":
                rows = []
            elif kind == b"D":
                n = struct.unpack("!H", payload[:2])[0]
                off, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", payload[off : off + 4])[0]
                    off += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(payload[off : off + ln].decode("utf-8", "replace"))
                        off += ln
                rows.append(tuple(row))
            elif kind == b"E":
                error = self._error(payload)
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    def close(self) -> None:
        try:
            self._send(b"X", b"")
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class _Scram:
    def __init__(self, password: str) -> None:
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.auth_message = b""
        self.salted = b""

    def client_first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
        if not attrs["r"].startswith(self.nonce):
            raise PgError("SCRAM: server nonce mismatch")
        self.salted = hashlib.pbkdf2_hmac("sha256", self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        client_key = hmac.new(self.salted, b"Client Key", "sha256").digest()
        stored = hashlib.sha256(client_key).digest()
        sig = hmac.new(stored, self.auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        server_key = hmac.new(self.salted, b"Server Key", "sha256").digest()
        expected = base64.b64encode(hmac.new(server_key, self.auth_message, "sha256").digest()).decode()
        if server_final.decode().strip() != f"v={expected}":
            raise PgError("SCRAM: server signature mismatch")
