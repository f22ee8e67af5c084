# tests/natlab/lab.sh - the NAT lab's topology and helpers (sourced by tests/natlab/run).
#
# Everything lives in network namespaces named "tcl-<pid>-<role>" (pid = the run's shell), so
# parallel runs never collide and a later run can find and remove what a dead one left. The
# lab adds no address, route or rule to the root namespace: every link is created inside a lab
# namespace, and the lab has no link to the root namespace at all.
#
#   <p>-hA host 10.77.1.2 ─┐                                       <p>-pub ("internet")
#   <p>-jA joiner 10.77.1.3┴─ br "lan" ─ <p>-rA ─ wan 100.64.0.2 ─┐  bridge br0 100.64.0.1
#                              10.77.1.1                          ├─ rendezvous :8787 (+ web)
#   <p>-jB joiner 10.77.2.2 ─── "lan" ── <p>-rB ─ wan 100.64.0.3 ─┘  coturn udp+tcp :3478, tls :443
#                              10.77.2.1                             default route -> unread TUN
#
# NAT modes of a router (nftables in the router's namespace only):
#   eim  endpoint-independent mapping (masquerade keeps the source port) and endpoint-
#        independent filtering (any inbound UDP to the WAN address goes to the one LAN client
#        behind it, at the same port): a "full-cone" NAT
#   prc  port-restricted cone: the same mapping, but only replies to flows the LAN started get in
#   sym  symmetric: masquerade random,fully-random (a new port per destination), replies only
#   Extra filters: udp-blocked (no UDP leaves or enters the LAN), tls-only (also no TCP to
#   3478: TURN reachable only as TLS on 443); loss=PCT drops PCT % of the LAN's packets each way.
# Counters (named, read by lab_counter) tell afterwards which path carried the data.

IP=${IP:-ip}
NFT=${NFT:-nft}
LAB_PUB=100.64.0.1
LAB_RDV_PORT=8787
LAB_WAN_A=100.64.0.2
LAB_WAN_B=100.64.0.3

lab_log() { printf '[natlab %s] %s\n' "$(date +%T)" "$*" >&2; }
nsx() { local ns=$1; shift; "$IP" netns exec "$LAB_NS-$ns" "$@"; }

# lab_init DIR: names for this run; DIR holds logs, pids, the TURN secret and certificate.
# LAB_NS is the prefix of this lab's namespaces: tcl-<pid of the run>-<lab>, where <lab> tells
# apart labs that one run has up at the same time (lab_use).
lab_init() {
  LAB_DIR=$1
  mkdir -p "$LAB_DIR"
  lab_use m
  LAB_TURN_SECRET=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  # coturn runs with a shared secret (use-auth-secret), as a deployment beside a rendezvous that
  # hands out credentials does; the native clients' static --turn-user and credential are
  # time-limited ones made here the same way (username "expiry:name", HMAC-SHA1 of it).
  LAB_TURN_USER="$(( $(date +%s) + 86400 )):natlab"
  TOKENCAST_TURN_CREDENTIAL=$(printf %s "$LAB_TURN_USER" |
    openssl dgst -sha1 -hmac "$LAB_TURN_SECRET" -binary | base64)
  export TOKENCAST_TURN_CREDENTIAL
}

# Remove lab namespaces whose owning run (the pid in the name) is gone.
lab_sweep_stale() {
  local ns pid
  for ns in $("$IP" netns list 2>/dev/null | awk '{print $1}' | grep -E '^tcl-[0-9]+-' || true); do
    pid=${ns#tcl-}; pid=${pid%%-*}
    if ! kill -0 "$pid" 2>/dev/null; then
      lab_log "removing stale namespace $ns (run $pid is gone)"
      lab_del_ns "$ns"
    fi
  done
}

# End every process still inside namespace $1 (all were started by a lab run), then delete it.
# Deleting a namespace removes its veths, bridges, TUN devices and nftables rules.
lab_del_ns() {
  local ns=$1 left i
  left=$("$IP" netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  if [[ -n ${left// } ]]; then
    kill $left 2>/dev/null
    for i in $(seq 30); do
      left=$("$IP" netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      [[ -z ${left// } ]] && break
      sleep 0.1
    done
    [[ -n ${left// } ]] && kill -9 $left 2>/dev/null
  fi
  "$IP" netns del "$ns" 2>/dev/null || true
}

# lab_use NAME: the namespaces and pid list of lab NAME of this run
lab_use() {
  LAB_NS=tcl-$$-$1
  LAB_PIDS=$LAB_DIR/pids-$1
  : >"$LAB_PIDS"
}

lab_remember() { echo "$1 $2" >>"$LAB_PIDS"; }   # pid, what

# Stop the processes this run started (by pid), then delete this run's namespaces.
lab_down() {
  local pid what ns
  if [[ -f ${LAB_PIDS:-/nonexistent} ]]; then
    while read -r pid what; do
      [[ -n $pid ]] && kill "$pid" 2>/dev/null
    done <"$LAB_PIDS"
    : >"$LAB_PIDS"
  fi
  for ns in $("$IP" netns list 2>/dev/null | awk '{print $1}' | grep -E "^${LAB_NS:-tcl-none}-" || true); do
    lab_del_ns "$ns"
  done
}

# Every lab of this run: the processes in every pid list, then every namespace tcl-<pid>-*.
lab_down_all() {
  local f pid what ns
  for f in "$LAB_DIR"/pids-*; do
    [[ -f $f ]] || continue
    while read -r pid what; do [[ -n $pid ]] && kill "$pid" 2>/dev/null; done <"$f"
    : >"$f"
  done
  for ns in $("$IP" netns list 2>/dev/null | awk '{print $1}' | grep -E "^tcl-$$-" || true); do
    lab_del_ns "$ns"
  done
}

# The router's nftables rules. $1 mode (eim|prc|sym), $2 extra (none|udp-blocked|tls-only),
# $3 loss percent (0 = none).
lab_router_rules() {
  local mode=$1 extra=$2 loss=$3 masq client=$4
  case $mode in
    eim | prc) masq="masquerade" ;;
    sym) masq="masquerade random,fully-random" ;;
    *) echo "bad NAT mode $mode" >&2; return 2 ;;
  esac
  echo "table ip natlab {"
  local c
  for c in to_pub_udp3478 to_pub_tcp3478 to_pub_tls443 to_pub_relay to_peer_udp \
           from_pub_udp3478 from_pub_tcp3478 from_pub_tls443 from_pub_relay from_peer_udp \
           blocked lost unsolicited; do
    echo "  counter $c {}"
  done
  cat <<EOF
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
EOF
  [[ $mode == eim ]] && echo "    iifname \"wan\" meta l4proto udp dnat to $client"
  cat <<EOF
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" $masq
  }
  chain cut_c {
    # lab_cut adds a drop rule here (the joiner's link cut), lab_restore flushes it
    type filter hook forward priority -10; policy accept;
  }
  chain fwd_c {
    type filter hook forward priority filter; policy accept;
EOF
  if (( loss > 0 )); then
    echo "    iifname \"lan\" numgen random mod 100 < $loss counter name lost drop"
    echo "    oifname \"lan\" numgen random mod 100 < $loss counter name lost drop"
  fi
  if [[ $extra == udp-blocked || $extra == tls-only ]]; then
    echo "    meta l4proto udp counter name blocked drop"
  fi
  if [[ $extra == tls-only ]]; then
    echo "    tcp dport 3478 counter name blocked reject with tcp reset"
  fi
  cat <<EOF
    iifname "lan" oifname "wan" ip daddr $LAB_PUB udp dport 3478 counter name to_pub_udp3478 accept
    iifname "lan" oifname "wan" ip daddr $LAB_PUB tcp dport 3478 counter name to_pub_tcp3478 accept
    iifname "lan" oifname "wan" ip daddr $LAB_PUB tcp dport 443 counter name to_pub_tls443 accept
    iifname "lan" oifname "wan" ip daddr $LAB_PUB udp dport 49152-65535 counter name to_pub_relay accept
    iifname "lan" oifname "wan" meta l4proto udp counter name to_peer_udp accept
    iifname "lan" oifname "wan" accept
    iifname "wan" ip saddr $LAB_PUB udp sport 3478 ct state established,related counter name from_pub_udp3478 accept
    iifname "wan" ip saddr $LAB_PUB tcp sport 3478 ct state established,related counter name from_pub_tcp3478 accept
    iifname "wan" ip saddr $LAB_PUB tcp sport 443 ct state established,related counter name from_pub_tls443 accept
    iifname "wan" ip saddr $LAB_PUB udp sport 49152-65535 ct state established,related counter name from_pub_relay accept
EOF
  if [[ $mode == eim ]]; then
    echo "    iifname \"wan\" meta l4proto udp ct status dnat counter name from_peer_udp accept"
  fi
  cat <<EOF
    iifname "wan" meta l4proto udp ct state established,related counter name from_peer_udp accept
    iifname "wan" ct state established,related accept
    iifname "wan" counter name unsolicited drop
  }
}
table bridge natlab_br {
  counter lan_udp_bridged {}
  chain fwd_b {
    type filter hook forward priority filter; policy accept;
    meta l4proto udp counter name lan_udp_bridged
  }
}
EOF
}

# lab_up NAT_A NAT_B [EXTRA_B] [LOSS_B] [JB_LINK]: build the lab. NAT modes as above;
# EXTRA_B and LOSS_B apply to router B (the remote joiner's side); JB_LINK=veth (default) or
# tun: joiner B's link to its router is a pair of TUN devices that a delay line joins.
lab_up() {
  local nat_a=$1 nat_b=$2 extra_b=${3:-none} loss_b=${4:-0} jb_link=${5:-veth}
  local ns
  for ns in pub rA rB hA jA jB; do
    "$IP" netns add "$LAB_NS-$ns" || return 1
    "$IP" -n "$LAB_NS-$ns" link set lo up
  done
  # the public segment: a bridge with the servers' address, and a default route into an
  # unread TUN device so that packets to unknown (private) addresses vanish as on the internet
  # instead of failing with ENETUNREACH (coturn closes a relay allocation on that error)
  "$IP" -n "$LAB_NS-pub" link add br0 type bridge
  "$IP" -n "$LAB_NS-pub" addr add $LAB_PUB/24 dev br0
  "$IP" -n "$LAB_NS-pub" link set br0 up
  "$IP" -n "$LAB_NS-pub" tuntap add dev void mode tun
  "$IP" -n "$LAB_NS-pub" link set void up
  "$IP" -n "$LAB_NS-pub" route add default dev void

  local side r wan net
  for side in A B; do
    r=$LAB_NS-r$side
    if [[ $side == A ]]; then wan=$LAB_WAN_A net=10.77.1; else wan=$LAB_WAN_B net=10.77.2; fi
    "$IP" -n "$r" link add wan type veth peer name p$side netns "$LAB_NS-pub"
    "$IP" -n "$LAB_NS-pub" link set p$side master br0 up
    "$IP" -n "$r" addr add $wan/24 dev wan
    "$IP" -n "$r" link set wan up
    nsx r$side sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
      net.ipv4.conf.default.rp_filter=0
  done
  # LAN A: a bridge in rA with the host and a local joiner
  "$IP" -n "$LAB_NS-rA" link add lan type bridge
  "$IP" -n "$LAB_NS-rA" addr add 10.77.1.1/24 dev lan
  "$IP" -n "$LAB_NS-rA" link set lan up
  local c addr
  for c in hA:10.77.1.2 jA:10.77.1.3; do
    addr=${c#*:}; c=${c%%:*}
    "$IP" -n "$LAB_NS-rA" link add p$c type veth peer name eth0 netns "$LAB_NS-$c"
    "$IP" -n "$LAB_NS-rA" link set p$c master lan up
    "$IP" -n "$LAB_NS-$c" addr add $addr/24 dev eth0
    "$IP" -n "$LAB_NS-$c" link set eth0 up
    "$IP" -n "$LAB_NS-$c" route add default via 10.77.1.1
  done
  # LAN B: one joiner, on a veth, or on a TUN pair bridged by the delay line
  if [[ $jb_link == tun ]]; then
    "$IP" -n "$LAB_NS-rB" tuntap add dev lan mode tun
    "$IP" -n "$LAB_NS-rB" addr add 10.77.2.1 peer 10.77.2.2 dev lan
    "$IP" -n "$LAB_NS-rB" link set lan up
    "$IP" -n "$LAB_NS-jB" tuntap add dev eth0 mode tun
    "$IP" -n "$LAB_NS-jB" addr add 10.77.2.2 peer 10.77.2.1 dev eth0
    "$IP" -n "$LAB_NS-jB" link set eth0 up
  else
    "$IP" -n "$LAB_NS-rB" link add lan type veth peer name eth0 netns "$LAB_NS-jB"
    "$IP" -n "$LAB_NS-rB" addr add 10.77.2.1/24 dev lan
    "$IP" -n "$LAB_NS-rB" link set lan up
    "$IP" -n "$LAB_NS-jB" addr add 10.77.2.2/24 dev eth0
    "$IP" -n "$LAB_NS-jB" link set eth0 up
  fi
  if [[ $jb_link == tun ]]; then "$IP" -n "$LAB_NS-jB" route add default dev eth0
  else "$IP" -n "$LAB_NS-jB" route add default via 10.77.2.1; fi

  lab_router_rules "$nat_a" none 0 10.77.1.2 | nsx rA "$NFT" -f - || return 1
  lab_router_rules "$nat_b" "$extra_b" "$loss_b" 10.77.2.2 | nsx rB "$NFT" -f - || return 1
  # counters on the public segment: what coturn received and sent, per transport
  nsx pub "$NFT" -f - <<EOF || return 1
table ip natlab {
  counter turn_udp_in {}
  counter turn_udp_out {}
  counter turn_tcp_in {}
  counter turn_tcp_out {}
  counter turn_tls_in {}
  counter turn_tls_out {}
  counter relay_in {}
  counter relay_out {}
  chain in_c {
    type filter hook input priority filter; policy accept;
    udp dport 3478 counter name turn_udp_in
    tcp dport 3478 counter name turn_tcp_in
    tcp dport 443 counter name turn_tls_in
    udp dport 49152-65535 counter name relay_in
  }
  chain out_c {
    type filter hook output priority filter; policy accept;
    udp sport 3478 counter name turn_udp_out
    tcp sport 3478 counter name turn_tcp_out
    tcp sport 443 counter name turn_tls_out
    udp sport 49152-65535 counter name relay_out
  }
}
EOF
}

# lab_counter NS NAME -> bytes
lab_counter() {
  nsx "$1" "$NFT" list counter "${3:-ip}" "${4:-natlab}" "$2" 2>/dev/null | awk '/bytes/ {print $4; exit}'
}
# lab_read_counters: every named counter of rA, rB and pub in one go -> LAB_CNT[ns.name]=bytes
lab_read_counters() {
  declare -gA LAB_CNT=()
  local ns name bytes
  for ns in rA rB pub; do
    while read -r name bytes; do LAB_CNT[$ns.$name]=$bytes; done < <(
      nsx $ns "$NFT" list counters 2>/dev/null | awk '$1 == "counter" {name = $2} $3 == "bytes" {print name, $4}')
  done
}
lab_reset_counters() {
  local ns
  for ns in rA rB pub; do nsx $ns "$NFT" reset counters >/dev/null 2>&1; done
}

# A self-signed certificate for coturn's TLS listener (test only).
lab_make_cert() {
  [[ -f $LAB_DIR/turn.crt ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$LAB_PUB" \
    -addext "subjectAltName=IP:$LAB_PUB" \
    -keyout "$LAB_DIR/turn.key" -out "$LAB_DIR/turn.crt" >/dev/null 2>&1
}

# The base64 SHA-256 of the lab certificate's public key, as Chromium's
# --ignore-certificate-errors-spki-list takes it (empty before the certificate exists).
lab_cert_spki() {
  [[ -f $LAB_DIR/turn.crt ]] || return 0
  openssl x509 -in "$LAB_DIR/turn.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64
}

# wait_until TIMEOUT_S WHAT CMD...: poll CMD every 0.1 s until it succeeds.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
  while (( $(date +%s%N) < deadline )); do
    "$@" && return 0
    sleep 0.1
  done
  lab_log "timed out after ${timeout}s waiting for $what"
  return 1
}

# Servers on the public segment. $1 = the case directory for logs.
lab_start_rendezvous() {
  local dir=$1 webroot=()
  [[ -f $LAB_WEB_ROOT/index.html ]] && webroot=(--web-root "$LAB_WEB_ROOT")
  # LAB_RDV_TURN=1: the rendezvous hands every peer, browsers included, the lab's STUN and TURN
  # servers (UDP, TCP, TLS on 443) with fresh credentials made from coturn's secret
  local ice=()
  [[ ${LAB_RDV_TURN:-0} == 1 ]] && ice=(--stun "stun:$LAB_PUB:3478"
    --turn "turn:$LAB_PUB:3478?transport=udp" --turn "turn:$LAB_PUB:3478?transport=tcp"
    --turn "turns:$LAB_PUB:443?transport=tcp")
  TOKENCAST_TURN_SECRET=$LAB_TURN_SECRET "$IP" netns exec "$LAB_NS-pub" "$TC" rendezvous \
    --listen $LAB_PUB:$LAB_RDV_PORT "${webroot[@]}" "${ice[@]}" --verbose \
    >>"$dir/rdv.out" 2>>"$dir/rdv.log" &
  LAB_RDV_PID=$!
  lab_remember $LAB_RDV_PID rendezvous
  wait_until 20 "the rendezvous to listen" grep -q "listening on" "$dir/rdv.out"
}

lab_start_servers() {
  local dir=$1
  lab_make_cert || { lab_log "openssl could not make a certificate"; return 1; }
  lab_start_rendezvous "$dir" || return 1
  # coturn with its own configuration (no config file), a secret made for this run, logs and
  # pid file in the case directory. Time-limited credentials from a shared secret, realm natlab.
  "$IP" netns exec "$LAB_NS-pub" turnserver -n --listening-ip=$LAB_PUB --relay-ip=$LAB_PUB \
    --listening-port=3478 --tls-listening-port=443 --cert="$LAB_DIR/turn.crt" \
    --pkey="$LAB_DIR/turn.key" --no-dtls --use-auth-secret \
    --static-auth-secret="$LAB_TURN_SECRET" --realm=natlab --no-cli --fingerprint \
    --min-port=49152 --max-port=65535 --log-file="$dir/turn.log" --simple-log \
    --pidfile="$dir/turn.pid" --no-stdout-log >"$dir/turn.stdout" 2>&1 &
  lab_remember $! coturn
  wait_until 20 "coturn to listen" lab_turn_listening || return 1
  local ns
  for ns in hA jA jB; do
    nsx $ns curl -s -m 5 -o /dev/null http://$LAB_PUB:$LAB_RDV_PORT/healthz ||
      { lab_log "$ns cannot reach the rendezvous"; return 1; }
  done
}
lab_turn_listening() {
  local s; s=$(nsx pub ss -lnut 2>/dev/null)
  grep -q "$LAB_PUB:3478" <<<"$s" && grep -q "$LAB_PUB:443" <<<"$s"
}

# ICE flag sets for host/join: none | stun | turn-udp | turn-all (udp, tcp, tls)
lab_ice_flags() {
  case $1 in
    none) ;;
    stun) echo "--stun stun:$LAB_PUB:3478" ;;
    turn-udp) echo "--stun stun:$LAB_PUB:3478 --turn turn:$LAB_PUB:3478?transport=udp --turn-user $LAB_TURN_USER" ;;
    turn-tcp) echo "--turn turn:$LAB_PUB:3478?transport=udp --turn turn:$LAB_PUB:3478?transport=tcp --turn-user $LAB_TURN_USER" ;;
    turn-all) echo "--turn turn:$LAB_PUB:3478?transport=udp --turn turn:$LAB_PUB:3478?transport=tcp --turn turns:$LAB_PUB:443?transport=tcp --turn-user $LAB_TURN_USER --turn-ca $LAB_DIR/turn.crt" ;;
    *) echo "bad ICE set $1" >&2; return 2 ;;
  esac
}

# Cut router $1's LAN link (every packet forwarded to or from its LAN is dropped) / restore it.
lab_cut() { nsx "$1" "$NFT" add rule ip natlab cut_c iifname "lan" drop &&
            nsx "$1" "$NFT" add rule ip natlab cut_c oifname "lan" drop; }
lab_restore() { nsx "$1" "$NFT" flush chain ip natlab cut_c; }

# Move the host to another network mid-session, as a laptop going from one Wi-Fi to another: a
# third router rC (NAT mode $1, default eim; WAN 100.64.0.4, LAN 10.77.3.1/24) joins the public
# segment, then the host's link to rA's LAN is deleted (hA loses 10.77.1.2 and its interface)
# and a new link joins hA to rC's LAN as 10.77.3.2: a new private and a new public address.
LAB_WAN_C=100.64.0.4
lab_move_host() {
  local mode=${1:-eim} r=$LAB_NS-rC
  "$IP" netns add "$r" || return 1
  "$IP" -n "$r" link set lo up
  "$IP" -n "$r" link add wan type veth peer name pC netns "$LAB_NS-pub" || return 1
  "$IP" -n "$LAB_NS-pub" link set pC master br0 up
  "$IP" -n "$r" addr add $LAB_WAN_C/24 dev wan
  "$IP" -n "$r" link set wan up
  nsx rC sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  lab_router_rules "$mode" none 0 10.77.3.2 | nsx rC "$NFT" -f - || return 1
  "$IP" -n "$LAB_NS-rA" link del phA || return 1   # hA's eth0 goes with it
  "$IP" -n "$r" link add lan type veth peer name eth0 netns "$LAB_NS-hA" || return 1
  "$IP" -n "$r" addr add 10.77.3.1/24 dev lan
  "$IP" -n "$r" link set lan up
  "$IP" -n "$LAB_NS-hA" addr add 10.77.3.2/24 dev eth0
  "$IP" -n "$LAB_NS-hA" link set eth0 up
  "$IP" -n "$LAB_NS-hA" route add default via 10.77.3.1
}
