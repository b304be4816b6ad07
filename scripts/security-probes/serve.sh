#!/bin/bash
# usage: serve.sh DIR PORT CATCHERPORT DBURL [VAR=value...]: a built server (dist/) on its own data dir, admin token tcs_admin_x, waits for /readyz.
dir=$1; port=$2; cport=$3; db=$4; shift 4
mkdir -p $dir
(cd "$(dirname "$0")/../.." && exec env TOCSIN_ADMIN_TOKEN=tcs_admin_x PORT=$port TOCSIN_MAIL_CATCHER_PORT=$cport TOCSIN_DATA_DIR=$dir DATABASE_URL=$db LOG_LEVEL=debug "$@" node dist/cli/main.js serve >> $dir/server.log 2>&1) &
echo $! > $dir/pid
for i in $(seq 1 60); do curl -sf localhost:$port/readyz >/dev/null && break; sleep 0.5; done
curl -s localhost:$port/readyz; echo
