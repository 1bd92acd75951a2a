#!/usr/bin/env bash
# Runs a command inside a private network namespace, so that browser-to-browser traffic in the
# end-to-end tests can never leave the machine and no outside network changes the result:
#
#   scripts/netns.sh npx playwright test
#
# Inside: `lo` up, and a veth pair whose first end holds the TEST-NET-1 address 192.0.2.10/24
# with the default route on it. The route matters: Chromium gathers WebRTC host candidates only
# on the interface of the default route (or on loopback with media permission), so with `lo`
# alone two tabs could not connect. Anything sent beyond 192.0.2.10 goes into the veth and dies
# there: the namespace has no way out.
set -euo pipefail

NETNS_ADDR=192.0.2.10/24
NETNS_GATEWAY=192.0.2.1

if [ $# -eq 0 ]; then
    echo "usage: $0 command [args...]" >&2
    exit 2
fi

if [ "${QUIRE_IN_NETNS:-}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        exec unshare --net -- env QUIRE_IN_NETNS=1 bash "$0" "$@"
    fi
    # Without root, a user namespace grants the capabilities needed to configure the new one.
    exec unshare --user --map-root-user --net -- env QUIRE_IN_NETNS=1 bash "$0" "$@"
fi

ip link set lo up
ip link add quire0 type veth peer name quire1
ip addr add "$NETNS_ADDR" dev quire0
ip link set quire0 up
ip link set quire1 up
ip route add default via "$NETNS_GATEWAY" dev quire0

exec "$@"
