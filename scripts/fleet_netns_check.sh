#!/usr/bin/env bash
# The fleet on three "hosts" with network faults, checked: a learner and two simulated arms
# (naf_sim_bridge + naf_trainer actor each) in three network namespaces joined by a bridge in a
# fourth, Cyclone DDS unicast-only with explicit peers. While the arms train:
#   a link impairment (50 ms delay, 5 % loss, both directions) on arm 1's link,
#   a link cut of arm 2 (its veth down),
#   a SIGKILL of the learner, then the learner resumed from its run folder;
# then the actors are stopped (SIGINT), the learner takes what they sent and is stopped (SIGINT).
# scripts/fleet_check.ts then asserts: every recorded effort command finite and within the URDF's
# limits, and every episode of every actor taken by the learner exactly once (its ledger).
#
#   sudo -E scripts/fleet_netns_check.sh [RUN_ROOT]       (ROS 2 and the naf_ros workspace sourced)
#
# Skipped (exit 0, "SKIP: <reason>") without root, `ip netns`, the ros2 CLI, naf_ros or Cyclone DDS.
# All addresses are private and exist only inside the namespaces it makes (removed at exit);
# nothing is routed to or from the machine's own interfaces.
#
# Variables: PARAMS (params file; default the package's config/reacher.yaml), NET=10.214.0,
# DOMAIN=63, T_WARM=40 T_IMPAIR=30 T_CUT=15 T_DOWN=20 T_AFTER=40 (seconds), IMPAIR=auto|netem|nfq|off,
# FAULTS=on|off (off: no impairment, cut or kill; the fleet trains for T_RUN=60 s), LOAD=0 (CPU-bound
# `yes` jobs at normal priority beside the fleet for the whole run), MAX_GAP_MS and MAX_JITTER_P99_MS
# (limits fleet_check.ts asserts: the longest gap between an arm's commands, the median over an
# actor's reports of its control loop's jitter p99), RT_PRIORITY=0 (the bridges' and actors' SCHED_FIFO priority),
# (auto: netem if the kernel has sch_netem, else nfq when NFQ_DELAY names a delay-and-drop NFQUEUE
# server — `../shared/tools/fleet-netns.sh tools` builds one — else off, said so).
set -euo pipefail
RUN_ROOT=${1:-$(mktemp -d /tmp/naf-fleet-netns-XXXXXX)}
NET=${NET:-10.214.0}; DOMAIN=${DOMAIN:-63}
T_WARM=${T_WARM:-40}; T_IMPAIR=${T_IMPAIR:-30}; T_CUT=${T_CUT:-15}; T_DOWN=${T_DOWN:-20}; T_AFTER=${T_AFTER:-40}
IMPAIR=${IMPAIR:-auto}; FAULTS=${FAULTS:-on}; T_RUN=${T_RUN:-60}; LOAD=${LOAD:-0}; RT_PRIORITY=${RT_PRIORITY:-0}
HERE=$(cd "$(dirname "$0")/.." && pwd)

skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "no 'ip netns' (iproute2)"
command -v ros2 >/dev/null || skip "ros2 CLI not on PATH (source ROS 2 and the naf_ros workspace)"
SHARE=$(ros2 pkg prefix naf_ros 2>/dev/null)/share/naf_ros || true
[ -d "$SHARE/launch" ] || skip "naf_ros not found (colcon build it and source its install/setup.bash)"
ros2 pkg prefix rmw_cyclonedds_cpp >/dev/null 2>&1 || skip "rmw_cyclonedds_cpp not installed (the namespaces use Cyclone DDS unicast peers)"
PARAMS=${PARAMS:-$SHARE/config/reacher.yaml}
PY=$(head -1 "$(command -v ros2)" | sed 's/^#!//')   # the interpreter that has rclpy

SW=nafchk-sw; NS_L=nafchk-learner; NS_A1=nafchk-arm1; NS_A2=nafchk-arm2
ns_of() { case $1 in L) echo $NS_L;; 1) echo $NS_A1;; 2) echo $NS_A2;; esac; }
ip_of() { case $1 in L) echo "$NET.1";; 1) echo "$NET.11";; 2) echo "$NET.12";; esac; }
dev_of() { case $1 in L) echo nvL;; 1) echo nvA1;; 2) echo nvA2;; esac; }
mkdir -p "$RUN_ROOT"
echo "run root $RUN_ROOT; params $PARAMS"

# What a host's processes run with: its own interface, every host a unicast peer (an arm's bridge
# and actor share a host and find each other with multicast off).
host_env() {
  echo "RMW_IMPLEMENTATION=rmw_cyclonedds_cpp ROS_DOMAIN_ID=$DOMAIN ROS_LOCALHOST_ONLY=0 CYCLONEDDS_URI='<CycloneDDS><Domain><General><Interfaces><NetworkInterface address=\"$(ip_of "$1")\"/></Interfaces><AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>60</MaxAutoParticipantIndex><Peers><Peer address=\"$(ip_of L)\"/><Peer address=\"$(ip_of 1)\"/><Peer address=\"$(ip_of 2)\"/></Peers></Discovery></Domain></CycloneDDS>'"
}

down() {
  for p in ${LOAD_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  for ns in $NS_L $NS_A1 $NS_A2; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  for ns in $NS_L $NS_A1 $NS_A2 $SW; do ip netns del "$ns" 2>/dev/null || true; done
}
trap down EXIT
down

ip netns add $SW
ip -n $SW link add nbr0 type bridge
ip -n $SW link set nbr0 up
for h in L 1 2; do
  ns=$(ns_of $h); dev=$(dev_of $h)
  ip netns add "$ns"
  ip link add "$dev" type veth peer name "$dev-br"
  ip link set "$dev" netns "$ns"
  ip link set "$dev-br" netns $SW
  ip -n $SW link set "$dev-br" master nbr0
  ip -n $SW link set "$dev-br" up
  ip -n "$ns" addr add "$(ip_of $h)/24" dev "$dev"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$dev" up
done
sleep 2
if command -v ping >/dev/null; then
  ip netns exec $NS_L ping -c 1 -W 2 -q "$(ip_of 1)" >/dev/null && ip netns exec $NS_L ping -c 1 -W 2 -q "$(ip_of 2)" >/dev/null || { echo "namespaces do not reach each other"; exit 1; }
fi

# bg NAME HOST CMD: started in HOST's namespace with SIGINT at its default (a background job of a
# script inherits SIGINT ignored, and ros2 launch then does not stop on it); pid in NAME.pid.
bg() {
  local name=$1 h=$2; shift 2
  ip netns exec "$(ns_of "$h")" setsid bash -c "export $(host_env "$h"); exec $PY -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' $*" \
    > "$RUN_ROOT/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN_ROOT/$name.pid"
}
stop_wait() {  # SIGINT to NAME (ros2 launch, which passes it on to its processes), wait up to 30 s
  local p; p=$(cat "$RUN_ROOT/$1.pid")
  kill -INT "$p" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  echo "$1 did not stop in 30 s"; return 1
}
at() { echo "$(date +%T) $*"; }

cat > "$RUN_ROOT/cmdmon.py" <<'PY'
"""Record every Float64MultiArray on the given topics: '<wall s> <topic> v0 v1 ...' per line."""
import sys, time, rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64MultiArray
out = open(sys.argv[1], 'a', buffering=1)
rclpy.init(args=['--ros-args', '--disable-rosout-logs'])
n = Node('cmdmon_%d' % (time.time_ns() % 100000))
for t in sys.argv[2:]:
    n.create_subscription(Float64MultiArray, t, (lambda tt: lambda m: out.write('%.4f %s %s\n' % (time.time(), tt, ' '.join(repr(x) for x in m.data))))(t),
                          QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
try:
    rclpy.spin(n)
except BaseException:
    pass
PY

impair_mode=$IMPAIR
if [ "$impair_mode" = auto ]; then
  if ip netns exec $NS_A1 tc qdisc add dev "$(dev_of 1)" root netem delay 1ms 2>/dev/null; then
    ip netns exec $NS_A1 tc qdisc del dev "$(dev_of 1)" root; impair_mode=netem
  elif [ -x "${NFQ_DELAY:-}" ] && command -v iptables-legacy >/dev/null; then impair_mode=nfq
  else impair_mode=off; echo "no sch_netem and no NFQ_DELAY server: the impairment phase is skipped"; fi
fi
impair() {  # impair on|off: 50 ms delay and 5 % loss on arm 1's link, both directions
  local ns dev; ns=$(ns_of 1); dev=$(dev_of 1)
  case $impair_mode:$1 in
    netem:on) ip netns exec "$ns" tc qdisc add dev "$dev" root netem delay 50ms loss 5%
              ip netns exec $SW tc qdisc add dev "$dev-br" root netem delay 50ms loss 5%;;
    netem:off) ip netns exec "$ns" tc qdisc del dev "$dev" root; ip netns exec $SW tc qdisc del dev "$dev-br" root;;
    nfq:on) ip netns exec "$ns" iptables-legacy -A OUTPUT -o "$dev" -j NFQUEUE --queue-num 7 --queue-bypass
            ip netns exec "$ns" iptables-legacy -A INPUT -i "$dev" -j NFQUEUE --queue-num 8 --queue-bypass
            ip netns exec "$ns" setsid "$NFQ_DELAY" 7 50 5 > "$RUN_ROOT/nfq-out.log" 2>&1 & echo $! > "$RUN_ROOT/nfq-out.pid"
            ip netns exec "$ns" setsid "$NFQ_DELAY" 8 50 5 > "$RUN_ROOT/nfq-in.log" 2>&1 & echo $! > "$RUN_ROOT/nfq-in.pid";;
    nfq:off) ip netns exec "$ns" iptables-legacy -D OUTPUT -o "$dev" -j NFQUEUE --queue-num 7 --queue-bypass
             ip netns exec "$ns" iptables-legacy -D INPUT -i "$dev" -j NFQUEUE --queue-num 8 --queue-bypass
             kill "$(cat "$RUN_ROOT/nfq-out.pid")" "$(cat "$RUN_ROOT/nfq-in.pid")" 2>/dev/null || true;;
    off:*) ;;
  esac
}

launch() { echo "ros2 launch naf_ros fleet.launch.py params_file:=$PARAMS episodes:=100000 rt_priority:=$RT_PRIORITY $*"; }
at "start: command recorders, learner, arm 1, arm 2"
bg mon1 1 "$PY $RUN_ROOT/cmdmon.py $RUN_ROOT/cmds-arm1.txt /arm1/effort_controller/commands"
bg mon2 2 "$PY $RUN_ROOT/cmdmon.py $RUN_ROOT/cmds-arm2.txt /arm2/effort_controller/commands"
bg learner L "$(launch arms:=0 run_dir:="$RUN_ROOT/learner")"
bg arm1 1 "$(launch arms:=1 first_arm:=1 learner:=false run_dir:="$RUN_ROOT/arm1")"
bg arm2 2 "$(launch arms:=1 first_arm:=2 learner:=false run_dir:="$RUN_ROOT/arm2")"
LOAD_PIDS=""
for _ in $(seq "$LOAD"); do yes > /dev/null & LOAD_PIDS="$LOAD_PIDS $!"; done
[ "$LOAD" = 0 ] || at "$LOAD CPU-bound job(s) beside the fleet:$LOAD_PIDS"
if [ "$FAULTS" = off ]; then
  at "training for ${T_RUN} s without faults"
  sleep "$T_RUN"
else
sleep "$T_WARM"
at "impairment on arm 1's link ($impair_mode): 50 ms, 5 % loss, ${T_IMPAIR} s"
impair on; sleep "$T_IMPAIR"; impair off
at "arm 2's link cut for ${T_CUT} s"
ip -n $NS_A2 link set "$(dev_of 2)" down; sleep "$T_CUT"; ip -n $NS_A2 link set "$(dev_of 2)" up
sleep 5
child=$(ps -o pid= --ppid "$(cat "$RUN_ROOT/learner.pid")" | head -1 | tr -d ' ')
at "SIGKILL of the learner node (pid $child); ${T_DOWN} s without it"
kill -KILL "$child"; sleep 1; stop_wait learner || true
sleep "$T_DOWN"
run=$(ls -d "$RUN_ROOT"/learner/*-fleet-* | head -1)
at "learner resumed from $run"
bg learner-resumed L "$(launch arms:=0 run_dir:="$RUN_ROOT/learner" resume:="$run")"
sleep "$T_AFTER"
fi
for p in $LOAD_PIDS; do kill "$p" 2>/dev/null || true; done; LOAD_PIDS=""
at "stop: the actors (SIGINT), then the learner once it has taken their last episodes"
stop_wait arm1; stop_wait arm2
sleep 10
if [ -f "$RUN_ROOT/learner-resumed.pid" ]; then stop_wait learner-resumed; else stop_wait learner; fi
kill -INT -- "-$(cat "$RUN_ROOT/mon1.pid")" "-$(cat "$RUN_ROOT/mon2.pid")" 2>/dev/null || true
sleep 1
left=$(for ns in $NS_L $NS_A1 $NS_A2; do ip netns pids "$ns"; done | wc -l)
echo "processes left in the namespaces after the stop: $left"
cd "$HERE"
status=0
node --import tsx scripts/fleet_check.ts --root "$RUN_ROOT" --params "$PARAMS" --arms 2 \
  ${MAX_GAP_MS:+--max-gap-ms "$MAX_GAP_MS"} ${MAX_JITTER_P99_MS:+--max-jitter-p99-ms "$MAX_JITTER_P99_MS"} || status=1
[ "$left" = 0 ] || { echo "FAIL processes outlived their launches"; status=1; }
exit $status
