"""A gate that checks query-signed (pre-signed) S3 requests with botocore, in front of moto.

moto_server does not check pre-signed URLs: with signature checks on it answers 500 to them,
without them it ignores the signature and the expiry. This gate stands in for that part of S3
only. It starts its own moto_server (no header checks) on a free loopback port, listens on
another, and for each request:
- with X-Amz-Signature in the query: recomputes the signature with botocore's
  S3SigV4QueryAuth for the request's own X-Amz-Date and X-Amz-Expires, and answers 403
  (SignatureDoesNotMatch, or AccessDenied "Request has expired") unless it matches and is
  still valid; valid requests go to moto without the X-Amz-* parameters, as the key's owner;
- otherwise: passes the request to moto unchanged (setup calls).

Usage: presign-gate.py MOTO_SERVER ACCESS_KEY_ID SECRET REGION; prints "port N" when ready.
"""
import datetime
import os
import signal
import threading
import http.client
import http.server
import socket
import subprocess
import sys
import time
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

moto_server, access_key, secret, region = sys.argv[1:5]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


moto_port = free_port()
moto = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(moto_port)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)


def expected_signature(method, host, path, params):
    """The signature botocore gives the same request at the same instant."""
    stamp = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    kept = [(k, v) for k, v in params.items() if not k.startswith("X-Amz-")]
    query = urllib.parse.urlencode(kept, quote_via=urllib.parse.quote)
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    request = botocore.awsrequest.AWSRequest(method=method, url=url, headers={"host": host})
    signer = botocore.auth.S3SigV4QueryAuth(
        botocore.credentials.Credentials(access_key, secret), "s3", region, expires=int(params["X-Amz-Expires"]))
    with mock.patch("botocore.auth.get_current_datetime", return_value=stamp):
        signer.add_auth(request)
    signed = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    return signed["X-Amz-Signature"][0], stamp


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def refuse(self, code, message):
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        target = self.path
        if "X-Amz-Signature" in params:
            try:
                wanted, stamp = expected_signature(self.command, self.headers["Host"], path, params)
            except Exception as error:  # a malformed pre-signed query
                return self.refuse("AuthorizationQueryParametersError", str(error))
            if not params.get("X-Amz-Credential", "").startswith(access_key + "/") or wanted != params["X-Amz-Signature"]:
                return self.refuse("SignatureDoesNotMatch", "The request signature we calculated does not match")
            if datetime.datetime.utcnow() > stamp + datetime.timedelta(seconds=int(params["X-Amz-Expires"])):
                return self.refuse("AccessDenied", "Request has expired")
            kept = [(k, v) for k, v in params.items() if not k.startswith("X-Amz-")]
            target = path + ("?" + urllib.parse.urlencode(kept, quote_via=urllib.parse.quote) if kept else "")
        connection = http.client.HTTPConnection("127.0.0.1", moto_port)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        if "X-Amz-Signature" in params:
            # Checked above; moto (which checks no signature here) still refuses anonymous
            # reads of private objects, so the request goes on as the key's owner.
            credential = params["X-Amz-Credential"]
            headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=checked-by-gate"
        headers["Content-Length"] = str(len(body))
        connection.request(self.command, target, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def stop(*_):
    # SIGKILL: a process started from a test's async code starts with SIGTERM blocked, and so
    # does its child.
    moto.kill()
    moto.wait()
    os._exit(0)


def watch_stdin():
    # Stops when its standard input closes: the test closed it, or the test process is gone
    # (a SIGTERM may never arrive, as children of async code start with it blocked).
    while sys.stdin.buffer.read(1):
        pass
    stop()


signal.signal(signal.SIGTERM, stop)
threading.Thread(target=watch_stdin, daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gate)
print(f"port {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
finally:
    moto.kill()
