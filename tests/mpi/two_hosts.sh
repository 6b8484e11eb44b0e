#!/usr/bin/env bash
# tests/mpi/two_hosts.sh MPIEXEC PROGRAM SPEC OUT
# Two hosts on one machine: network namespaces joined by a veth pair (10.231.7.1 and .2),
# mpirun started in the first with Open MPI's rsh agent running each daemon through
# `ip netns exec` for the host it names, and TCP (both the runtime's and MPI's) kept to that
# subnet. Runs `PROGRAM run SPEC --seeds 3` alone and as one rank per host and passes when
# every file the two write is byte-identical. Exits 77 (ctest: skipped), saying why, where
# namespaces cannot be made (not root, no `ip`, no permission); removes what it made.
set -euo pipefail
mpiexec=$1 program=$2 spec=$3 out=$4

skip() { echo "SKIPPED: $*"; exit 77; }
command -v ip >/dev/null || skip "no 'ip' command (iproute2) to make network namespaces"
[[ $(id -u) -eq 0 ]] || skip "network namespaces need root (uid $(id -u))"

id=$$
ns1=fanin_h1_$id ns2=fanin_h2_$id
work=$(mktemp -d)
cleanup() {
  ip netns del "$ns1" 2>/dev/null || true
  ip netns del "$ns2" 2>/dev/null || true  # deleting a namespace removes its veth end
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
ip netns add "$ns1" 2>"$work/err" || skip "cannot make a network namespace: $(cat "$work/err")"
ip netns add "$ns2"
ip link add "fv1_$id" type veth peer name "fv2_$id"
ip link set "fv1_$id" netns "$ns1"
ip link set "fv2_$id" netns "$ns2"
ip -n "$ns1" addr add 10.231.7.1/24 dev "fv1_$id"
ip -n "$ns2" addr add 10.231.7.2/24 dev "fv2_$id"
for n in 1 2; do
  ns_var=ns$n
  ip -n "${!ns_var}" link set "fv${n}_$id" up
  ip -n "${!ns_var}" link set lo up
done

# plm_rsh_agent: called as "agent HOST COMMAND...", as ssh would be.
cat >"$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
  10.231.7.1) ns=$ns1 ;;
  10.231.7.2) ns=$ns2 ;;
  *) echo "two_hosts agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"

rm -rf "$out"
mkdir -p "$out"
"$program" run "$spec" --seeds 3 --device cpu --out "$out/alone" >"$out/alone.log" 2>&1 ||
  { cat "$out/alone.log"; exit 1; }
timeout 240 ip netns exec "$ns1" "$mpiexec" --allow-run-as-root -np 2 \
  --host 10.231.7.1:1,10.231.7.2:1 --mca plm_rsh_agent "$work/agent" \
  --mca btl tcp,self --mca btl_tcp_if_include 10.231.7.0/24 \
  --mca oob_tcp_if_include 10.231.7.0/24 --bind-to none \
  sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: $(ip -brief addr show | grep fv)"' | sort
timeout 240 ip netns exec "$ns1" "$mpiexec" --allow-run-as-root -np 2 \
  --host 10.231.7.1:1,10.231.7.2:1 --mca plm_rsh_agent "$work/agent" \
  --mca btl tcp,self --mca btl_tcp_if_include 10.231.7.0/24 \
  --mca oob_tcp_if_include 10.231.7.0/24 --bind-to none \
  "$program" run "$spec" --seeds 3 --device cpu --out "$out/two_hosts" >"$out/mpi.log" 2>&1 ||
  { cat "$out/mpi.log"; exit 1; }
status=0
count=0
for file in "$out/alone"/*; do
  name=$(basename "$file")
  if cmp -s "$file" "$out/two_hosts/$name"; then
    count=$((count + 1))
  else
    echo "$name differs between one process and one rank on each of two hosts"
    status=1
  fi
done
echo "$count files identical between one process and two ranks on two hosts"
rm -rf "$out"
exit $status
