#!/usr/bin/env bash
# The bare kernel objects of one local sandbox, made with plain commands and nothing else — no undo
# journal, no leases, no record, no gate, no guard, no canaries: a network namespace with a veth pair
# (peer created inside), one nft table inside and one on the host, a cgroup with memory/pids/CPU
# limits, and `bwrap true` run inside the namespace. bench/local.bench.ts times this against
# LocalSandbox.create/destroy in the same run and reports the ratio.
#
#   bench/bare-primitives.sh create <tag>     (tag: up to 6 hex characters)
#   bench/bare-primitives.sh destroy <tag>
set -euo pipefail
action=$1
tag=$2
ns="airlock-bare-$tag"
veth="airlockbare$tag"
veth=${veth:0:15}

cgroup_dirs() {
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "/sys/fs/cgroup/$ns"
  else
    for c in cpu cpuacct memory pids blkio freezer; do
      [ -d "/sys/fs/cgroup/$c" ] && echo "/sys/fs/cgroup/$c/$ns"
    done
  fi
}

case "$action" in
create)
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip addr add 10.78.0.1/30 dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" addr add 10.78.0.2/30 dev eth0
  ip -n "$ns" link set eth0 up
  printf 'table inet %s { chain output { type filter hook output priority 0; policy drop; oif "lo" accept; }; }\n' "$ns" | nsenter --net="/run/netns/$ns" nft -f -
  printf 'table inet %s { chain input { type filter hook input priority 0; policy accept; iifname "%s" drop; }; }\n' "$ns" "$veth" | nft -f -
  for d in $(cgroup_dirs); do mkdir -p "$d"; done
  if [ -f "/sys/fs/cgroup/$ns/memory.max" ]; then
    echo $((256 * 1024 * 1024)) > "/sys/fs/cgroup/$ns/memory.max"
    echo 128 > "/sys/fs/cgroup/$ns/pids.max"
    echo "100000 100000" > "/sys/fs/cgroup/$ns/cpu.max"
  else
    echo $((256 * 1024 * 1024)) > "/sys/fs/cgroup/memory/$ns/memory.limit_in_bytes"
    echo 128 > "/sys/fs/cgroup/pids/$ns/pids.max"
    echo 100000 > "/sys/fs/cgroup/cpu/$ns/cpu.cfs_quota_us"
  fi
  nsenter --net="/run/netns/$ns" bwrap --unshare-pid --unshare-ipc --unshare-uts --die-with-parent \
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
    --proc /proc --dev /dev --tmpfs /tmp true
  ;;
destroy)
  for d in $(cgroup_dirs); do rmdir "$d" 2>/dev/null || true; done
  nft delete table inet "$ns" 2>/dev/null || true
  ip link del "$veth" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 create|destroy <tag>" >&2
  exit 2
  ;;
esac
