# Shared by scripts/up, scripts/down and scripts/test. Sourced, not run.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${AKASHI_STATE_DIR:-$REPO_ROOT/.akashi}
SERVICES=(issuer host display verifier lms-adapter)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
BIN_DIR=$CARGO_TARGET_DIR/debug

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Installs what the running stack needs from Debian's packages when it is
# missing: PostgreSQL and RabbitMQ themselves when neither a server nor a
# remote address is set up (display carries its own Japanese font). As
# root it installs; otherwise it prints the one command that does.
ensure_runtime_packages() {
  local missing=()
  if [ -z "${AKASHI_PG_HOST:-}" ] && ! command -v pg_ctlcluster >/dev/null && ! port_open 127.0.0.1 5432; then
    missing+=(postgresql)
  fi
  if [ -z "${AKASHI_AMQP_HOST:-}" ] && ! command -v rabbitmq-server >/dev/null && ! port_open 127.0.0.1 5672; then
    missing+=(rabbitmq-server)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}

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
