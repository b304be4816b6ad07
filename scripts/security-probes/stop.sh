#!/bin/bash
# stop.sh DIR: stops the server serve.sh started in DIR and waits for it to exit.
p=$(cat $1/pid); kill $p; for i in $(seq 1 40); do kill -0 $p 2>/dev/null || exit 0; sleep 0.25; done; echo "still running $p"
