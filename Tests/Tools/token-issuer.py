#!/usr/bin/python3
"""A small token issuer for kiln's registry tests (the Docker/distribution token spec).

It checks HTTP Basic credentials (or an OAuth2 password / refresh_token grant), grants the
requested scopes that its ACL allows, and signs a JWT the distribution 2.8 registry accepts:
`alg` RS256 or ES256 and a `kid` header equal to the libtrust key ID of the public key in the
registry's `rootcertbundle` (distribution 2.8 also accepts `x5c`; `--x5c` sends that instead).

Every issued token and refresh token is appended, one JSON object a line, to `--log`, so a test
can check that none of them reaches kiln's logs or error messages.

Bounded: listens on 127.0.0.1 only, exits on SIGTERM/SIGINT, when its parent process goes
away, or after `--max-lifetime` seconds.

Usage:
  token-issuer.py --key issuer.key --cert issuer.crt --acl acl.json --port-file port \
      --log tokens.jsonl [--expires-in 300] [--alg RS256|ES256] [--x5c] \
      [--issuer kiln-test-issuer] [--service kiln-test-registry] [--compensate-leeway]

acl.json:
  {"users": {"alice": "secret"},
   "refresh_tokens": {"opaque-refresh-token": "alice"},
   "acl": [{"account": "alice", "name": "*", "actions": ["pull", "push"]},
           {"account": "", "name": "public/*", "actions": ["pull"]}]}
  An empty account means anonymous; `name` is an fnmatch pattern over repository names.
"""

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import serverguard  # noqa: E402 (this folder)

# distribution 2.8 accepts a token up to 60 s after `exp` (token.Leeway). With
# --compensate-leeway the `exp` claim is moved 60 s earlier, so the registry really refuses the
# token once `expires_in` has passed and a client that does not refresh fails visibly.
REGISTRY_LEEWAY = 60


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_key):
    """libtrust's KeyID: base32 of the first 240 bits of sha256(PKIX DER), in groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


class Issuer:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            self.cert = x509.load_pem_x509_certificate(f.read())
        with open(args.acl) as f:
            acl = json.load(f)
        self.users = acl.get("users", {})
        self.refresh_tokens = dict(acl.get("refresh_tokens", {}))
        self.rules = acl.get("acl", [])
        self.args = args
        self.kid = libtrust_key_id(self.cert.public_key())
        self.lock = threading.Lock()

    def grant(self, account, scopes):
        """The subset of the requested scopes this account may have."""
        granted = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            allowed = set()
            for rule in self.rules:
                if rule.get("account", "") == account and fnmatch.fnmatchcase(name, rule.get("name", "")):
                    allowed.update(rule.get("actions", []))
            ok = [a for a in actions if a in allowed or "*" in allowed]
            if rtype == "repository" and ok:
                granted.append({"type": rtype, "name": name, "actions": ok})
        return granted

    def sign(self, account, access):
        now = int(time.time())
        exp = now + self.args.expires_in
        if self.args.compensate_leeway:
            exp -= REGISTRY_LEEWAY
        header = {"typ": "JWT", "alg": self.args.alg}
        if self.args.x5c:
            header["x5c"] = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        else:
            header["kid"] = self.kid
        claims = {"iss": self.args.issuer, "sub": account, "aud": self.args.service, "exp": exp,
                  "nbf": now - 1, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        if self.args.alg == "RS256":
            signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:  # ES256: JOSE wants r || s, 32 bytes each, not DER.
            r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input.decode() + "." + b64url(signature)

    def record(self, entry):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    issuer = None  # set before serving

    def log_message(self, fmt, *args):  # keep stderr quiet; the JSON log is the record
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def basic_account(self):
        """(account, ok): '' when no credentials were sent; ok False for a wrong password."""
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return "", True
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return "", False
        return user, self.issuer.users.get(user) == password

    def issue(self, grant, account, scopes, service, offline):
        iss = self.issuer
        if service != iss.args.service:
            return self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service %r" % service}]})
        access = iss.grant(account, scopes)
        token = iss.sign(account, access)
        body = {"token": token, "access_token": token, "expires_in": iss.args.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        refresh = None
        if offline and account:
            refresh = secrets.token_urlsafe(24)
            with iss.lock:
                iss.refresh_tokens[refresh] = account
            body["refresh_token"] = refresh
        iss.record({"time": time.time(), "grant": grant, "account": account, "scopes": scopes,
                    "granted": access, "token": token, "refresh_token": refresh})
        self.reply(200, body)

    def deny(self, grant, account, reason):
        self.issuer.record({"time": time.time(), "grant": grant, "account": account, "denied": reason})
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": reason}]})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        query = urllib.parse.parse_qs(url.query)
        account, ok = self.basic_account()
        if not ok:
            return self.deny("get", account, "invalid username or password")
        self.issue("get", account, query.get("scope", []), query.get("service", [""])[0],
                   query.get("offline_token", [""])[0] == "true")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        grant = form.get("grant_type", [""])[0]
        scopes = " ".join(form.get("scope", [])).split()
        service = form.get("service", [""])[0]
        if grant == "password":
            account = form.get("username", [""])[0]
            if self.issuer.users.get(account) != form.get("password", [None])[0]:
                return self.deny(grant, account, "invalid username or password")
            return self.issue(grant, account, scopes, service, form.get("access_type", [""])[0] == "offline")
        if grant == "refresh_token":
            with self.issuer.lock:
                account = self.issuer.refresh_tokens.get(form.get("refresh_token", [""])[0])
            if account is None:
                return self.deny(grant, "", "unknown refresh token")
            return self.issue(grant, account, scopes, service, False)
        self.reply(400, {"errors": [{"code": "UNSUPPORTED", "message": "grant_type %r" % grant}]})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--acl", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--issuer", default="kiln-test-issuer")
    p.add_argument("--service", default="kiln-test-registry")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--alg", choices=["RS256", "ES256"], default="RS256")
    p.add_argument("--x5c", action="store_true")
    p.add_argument("--compensate-leeway", action="store_true")
    p.add_argument("--max-lifetime", type=float, default=900)
    args = p.parse_args()

    Handler.issuer = Issuer(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    serverguard.serve(server, args.port_file, args.max_lifetime)


if __name__ == "__main__":
    sys.exit(main())
