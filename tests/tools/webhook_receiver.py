"""An HR system's webhook endpoint for Akashi's tests: it checks every
request with the Standard Webhooks reference library (PyPI standardwebhooks)
and records it. Runs until killed.

    python webhook_receiver.py <port> <dir>

<dir>/secrets   one `whsec_` secret per line, read at every request; the
                request is checked against each one separately
<dir>/plan      optional; each request takes its first line: a status code
                to answer (default 200), optionally `sleep <seconds> <code>`
<dir>/received.jsonl  one JSON object per request: webhook_id, the secrets
                (by line number) whose signature verified, the answer, the
                parsed body; written when the request arrives
"""
import http.server, json, pathlib, sys, threading, time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

port, directory = int(sys.argv[1]), pathlib.Path(sys.argv[2])
directory.mkdir(parents=True, exist_ok=True)
lock = threading.Lock()


def next_step():
    plan = directory / "plan"
    with lock:
        if not plan.exists():
            return 0, 200
        lines = plan.read_text().splitlines()
        if not lines:
            return 0, 200
        plan.write_text("".join(line + "\n" for line in lines[1:]))
    words = lines[0].split()
    if words[0] == "sleep":
        return float(words[1]), int(words[2])
    return 0, int(words[0])


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        secrets_file = directory / "secrets"
        secrets = secrets_file.read_text().split() if secrets_file.exists() else []
        verified = []
        for n, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(n)
            except WebhookVerificationError:
                pass
        pause, status = next_step()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        record = {
            "webhook_id": headers.get("webhook-id"),
            "content_type": headers.get("content-type"),
            "verified_with": verified,
            "answered": status,
            "body": parsed,
        }
        # Recorded on arrival, before any pause: a test can kill the sender
        # while this request waits for its answer.
        with lock, open(directory / "received.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")
        time.sleep(pause)
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok" if status < 300 else b"not now")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
print("ready", flush=True)
server.serve_forever()
