# Shared by scripts/up, scripts/down and scripts/test. Sourced, not run.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${AKASHI_STATE_DIR:-$REPO_ROOT/.akashi}
SERVICES=(issuer host display verifier lms-adapter)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
BIN_DIR=$CARGO_TARGET_DIR/debug

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Starts PostgreSQL and RabbitMQ on this machine if they are installed here
# but not running; fails with a clear message if they cannot be reached.
ensure_backing_services() {
  local pg_host=${AKASHI_PG_HOST:-127.0.0.1} pg_port=${AKASHI_PG_PORT:-5432}
  local mq_host=${AKASHI_AMQP_HOST:-127.0.0.1} mq_port=${AKASHI_AMQP_PORT:-5672}
  if ! port_open "$pg_host" "$pg_port"; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      log "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
  fi
  if ! port_open "$mq_host" "$mq_port"; then
    if command -v rabbitmq-server >/dev/null; then
      log "starting RabbitMQ"
      rabbitmq-server -detached || true
    fi
  fi
  local waited=0
  until port_open "$pg_host" "$pg_port" && port_open "$mq_host" "$mq_port"; do
    if [ $waited -ge 60 ]; then
      echo "PostgreSQL ($pg_host:$pg_port) or RabbitMQ ($mq_host:$mq_port) is not reachable." >&2
      echo "Start them (see docs/runbook.md) or point DATABASE_URL/AMQP_URL-style settings elsewhere." >&2
      return 1
    fi
    sleep 1; waited=$((waited + 1))
  done
}
