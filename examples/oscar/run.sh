#!/usr/bin/env bash
# run.sh - serve the storefront built by setup.sh, in the foreground.
#
# Env:
#   OSCAR_HOME     same as for setup.sh (default .oscar/ at the repository root)
#   OSCAR_PORT     default 8000
#   OSCAR_BIND     default 127.0.0.1
#   OSCAR_SERVER   gunicorn | runserver   (default: gunicorn if installed in the venv)
#   OSCAR_WORKERS  gunicorn worker processes (default 2)
#   OSCAR_THREADS  gunicorn threads per worker (default 4)
#   OSCAR_FORWARDED_ALLOW_IPS  peers whose X-Forwarded-Proto/-For gunicorn trusts
#                  (default "127.0.0.1,::1"; set to "" to ignore those headers)
#   + the runtime knobs documented at the top of settings.py / README.md
#
# The script exec's the server, so the PID of `run.sh &` is the server's PID
# (gunicorn master or runserver). Stop it with: kill <pid>   (SIGTERM)
set -euo pipefail

# The default home is .oscar/ at the repository root, whatever the working
# directory. A relative OSCAR_HOME is resolved against the working directory.
KIT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KIT_DIR/../.." && pwd)"
OSCAR_HOME="$(realpath -m "${OSCAR_HOME:-$REPO_ROOT/.oscar}")"
PORT="${OSCAR_PORT:-8000}"
BIND="${OSCAR_BIND:-127.0.0.1}"
VENV="$OSCAR_HOME/venv"
PROJ="$OSCAR_HOME/project"

if [ ! -x "$VENV/bin/python" ] || [ ! -f "$PROJ/shop/settings.py" ] || [ ! -f "$OSCAR_HOME/var/db.sqlite3" ]; then
  echo "run.sh: no shop in $OSCAR_HOME - run setup.sh first (with the same OSCAR_HOME)" >&2
  exit 1
fi

cd "$PROJ"
export DJANGO_SETTINGS_MODULE=shop.settings
export PYTHONUNBUFFERED=1

SERVER="${OSCAR_SERVER:-}"
if [ -z "$SERVER" ]; then
  if [ -x "$VENV/bin/gunicorn" ]; then SERVER=gunicorn; else SERVER=runserver; fi
fi

echo "run.sh: $SERVER on http://$BIND:$PORT/ (OSCAR_HOME=$OSCAR_HOME, pid $$)" >&2
case "$SERVER" in
  gunicorn)
    exec "$VENV/bin/gunicorn" shop.wsgi:application \
      --bind "$BIND:$PORT" \
      --worker-class gthread --workers "${OSCAR_WORKERS:-2}" --threads "${OSCAR_THREADS:-4}" \
      --timeout 60 --graceful-timeout 5 --no-control-socket \
      --forwarded-allow-ips "${OSCAR_FORWARDED_ALLOW_IPS-127.0.0.1,::1}" \
      --access-logfile - --error-logfile - \
      --access-logformat '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
    ;;
  runserver)
    exec "$VENV/bin/python" manage.py runserver --noreload "$BIND:$PORT"
    ;;
  *)
    echo "run.sh: unknown OSCAR_SERVER=$SERVER (use gunicorn or runserver)" >&2
    exit 2
    ;;
esac
