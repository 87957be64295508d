#!/usr/bin/env bash
# Make sure what the full suite needs is here: PostgreSQL (running, with UTF-8 test databases),
# Redis, Debian's chromium and CJK fonts. Installs with apt where it can (root). With STRICT=1
# (CI) any missing part is an error; otherwise it says what is missing and the suite skips it.
set -u
STRICT=${STRICT:-0}
missing=()
say() { echo "system-deps: $*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ ! -f /tmp/.jicai-apt-updated ]; then as_root apt-get update -qq >/dev/null 2>&1 && touch /tmp/.jicai-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null 2>&1
}

# Browser: Debian's chromium and CJK fonts (never a browser download by Playwright).
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  say "installing chromium and fonts-noto-cjk"
  apt_install chromium fonts-noto-cjk || true
fi
[ -x /usr/bin/chromium ] || missing+=("chromium")

# PostgreSQL: start the cluster when it is stopped; create the test databases with a UTF-8 ctype
# (trigram search yields nothing on Chinese text in a C-ctype database).
if ! command -v pg_ctlcluster >/dev/null && ! command -v psql >/dev/null; then
  say "installing postgresql"
  apt_install postgresql || true
fi
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r ver cluster port status rest; do
    if [ "$status" != "online" ]; then
      say "starting PostgreSQL $ver/$cluster"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start || true
    fi
  done
fi
PSQL=(psql -X -q -U postgres -h 127.0.0.1 -p 5432)
for i in 1 2 3 4 5 6 7 8 9 10; do "${PSQL[@]}" -c "select 1" >/dev/null 2>&1 && break; sleep 1; done
if "${PSQL[@]}" -c "select 1" >/dev/null 2>&1; then
  for dbname in jicai_test jicai_test_suite; do
    if ! "${PSQL[@]}" -tAc "select 1 from pg_database where datname='$dbname'" | grep -q 1; then
      "${PSQL[@]}" -c "CREATE DATABASE $dbname TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'" || missing+=("database $dbname")
    fi
  done
else
  missing+=("PostgreSQL on 127.0.0.1:5432")
fi

# Redis (the scale-out job queue).
if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then
  command -v redis-server >/dev/null || apt_install redis-server || true
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    sleep 1
  fi
  (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1) || missing+=("Redis on 127.0.0.1:6379")
fi

if [ ${#missing[@]} -gt 0 ]; then
  say "missing: ${missing[*]}"
  [ "$STRICT" = 1 ] && exit 1
  exit 0
fi
say "PostgreSQL, Redis and chromium are ready"
