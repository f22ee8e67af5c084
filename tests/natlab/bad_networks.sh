# tests/natlab/bad_networks.sh - the lab's bad-network cases (sourced by tests/natlab/run).
# Every wait is for a state (a log line, a file's content, a metric) with an overall timeout;
# the one fixed duration is the link cut (30 s, 3 min), which is the scenario itself.

# the delay line (tests/natlab/delay_line.cpp): built by CMake (tests/natlab/CMakeLists.txt),
# else here with the system compiler (when the lab runs against another build)
delay_line_bin() {
  local bin=$build/tests/natlab/delay_line
  if [[ ! -x $bin || $bin -ot $here/delay_line.cpp ]]; then
    bin=$LAB_DIR/delay_line
    [[ -x $bin ]] || g++ -std=c++20 -O2 -o "$bin" "$here/delay_line.cpp" || return 1
  fi
  echo "$bin"
}

# common start of a case: lab (NAT modes, extras), servers, host with answer chunk delay
bad_case_start() {   # NAME NAT_A NAT_B LOSS_B JB_LINK DELAY
  local name=$1 dir=$LAB_DIR/$1
  mkdir -p "$dir"
  lab_up "$2" "$3" none "$4" "$5" || { result FAIL "$name" "lab did not come up"; return 1; }
  if [[ $5 == tun ]]; then
    local bin; bin=$(delay_line_bin) || { result FAIL "$name" "the delay line did not build"; return 1; }
    local delay=${NATLAB_DELAY_MS:-200} jitter=${NATLAB_JITTER_MS:-50}
    echo "ip netns exec rB delay_line jB eth0 rB lan $delay $jitter" >>"$dir/commands"
    "$IP" netns exec "$LAB_NS-rB" "$bin" "$LAB_NS-jB" eth0 "$LAB_NS-rB" lan "$delay" "$jitter" \
      >"$dir/delay_line.log" 2>&1 &
    lab_remember $! delay_line
    wait_until 10 "the delay line" grep -q 'delay line up' "$dir/delay_line.log" ||
      { result FAIL "$name" "the delay line did not start: $(cat "$dir/delay_line.log")"; return 1; }
  fi
  lab_start_servers "$dir" || { result FAIL "$name" "servers did not start"; return 1; }
  start_host "$dir" turn-udp "$6" || { result FAIL "$name" "host did not start"; return 1; }
}

# 10 % loss each way (nftables numgen) + 200 ms +- 50 ms each way (delay line: reordering)
case_lossy() {
  local name=lossy dir=$LAB_DIR/lossy
  bad_case_start lossy eim eim 10 tun 0.02 || { lab_down; return; }
  # Chromium joins beside the native client (each setup takes several seconds on this link)
  browser_start "$dir" jB chromium "$name" "" "" 90000
  join_native "$dir" jB turn-udp native 120
  watch_join "$dir" native
  observed_path
  local eq; eq=$(answers_equal "$dir/native.json" 2>&1)
  local lost; lost=$(lab_counter rB lost)
  if [[ $JOIN_RC == 0 ]] && grep -q byte-equal <<<"$eq"; then
    result PASS "$name native" "$eq, in order; path $OBS_PATH; live after $(secs "$T_LIVE") s, answer done after $(secs "$T_DONE") s; $lost bytes dropped by the 10 % loss"
    observed "$name" native "complete, in order" "$OBS_PATH" "$(secs "$T_LIVE")" "$(secs "$T_FIRST")" "$(secs "$T_DONE")" "$PATH_BYTES lost=$lost" pass
  else
    result FAIL "$name native" "exit $JOIN_RC; $eq; $(grep -v '^\[' "$dir/native.err" | tail -1)"
    observed "$name" native "complete, in order" "$OBS_PATH" "$(secs "$T_LIVE")" "$(secs "$T_FIRST")" "$(secs "$T_DONE")" "$PATH_BYTES" FAIL
  fi
  [[ -n $B_PID ]] && browser_finish
  local ex; ex=$(export_equal "$dir" 2>&1)
  if grep -q byte-equal <<<"$ex"; then result PASS "$name export" "$ex"; else result FAIL "$name export" "$ex"; fi
  lab_down
}

# ---- a native client and Chromium watching one answer while the network misbehaves --------
# watchers_start DIR NAME LONGEST_S: Chromium (when on) in jB watching the answer to the native
# joiner's prompt (so one answer is cut for both), then the native join in jB; returns once
# both show the answer's first lines. Sets W_BROWSER (1 when Chromium takes part), W_EVENTS
# (the page's states, tests/natlab/browser.mjs NATLAB_EVENTS) and W_T_FIRST.
watchers_start() {
  local dir=$1 name=$2 longest=$3
  W_BROWSER=0 W_EVENTS=$dir/chromium.events
  : >"$W_EVENTS"
  if [[ $BROWSER == 1 ]]; then
    NATLAB_EVENTS=$W_EVENTS NATLAB_WATCH_PROMPT=natlab \
      NATLAB_ANSWER_TIMEOUT_MS=$(( (longest + 150) * 1000 )) B_TIMEOUT=$(( longest + 240 )) \
      browser_start "$dir" jB chromium "$name" "" "" 60000 && W_BROWSER=1
    if [[ $W_BROWSER == 1 ]] && ! wait_until 90 "Chromium to go live" grep -q ' live$' "$W_EVENTS"; then
      result FAIL "$name chromium" "not live: $(tail -1 "$W_EVENTS") $(tail -2 "$dir/chromium.out" | tr '\n' ' ')"
      W_BROWSER=0
    fi
  else
    result SKIP "$name chromium" "browser joins off"
  fi
  join_native "$dir" jB turn-udp native $(( longest + 150 ))
  if ! wait_until 60 "the first answer bytes" grep -q 'natlab line 001' "$dir/native.out"; then
    result FAIL "$name native" "no answer began: $(grep -v '^\[' "$dir/native.err" | tail -1)"
    return 1
  fi
  W_T_FIRST=$(( $(now_ms) - JOIN_T0 ))
  if [[ $W_BROWSER == 1 ]] && ! wait_until 60 "the answer's first lines in Chromium" browser_lines_above 0; then
    result FAIL "$name chromium" "no answer began in the page: $(tail -1 "$W_EVENTS")"
    W_BROWSER=0
  fi
  return 0
}
browser_lines() { awk '$2 == "lines" {n = $3} END {print n + 0}' "$W_EVENTS"; }
browser_lines_above() { (( $(browser_lines) > $1 )); }
browser_state() { awk '$2 == "status" {s = $3} END {print s}' "$W_EVENTS"; }
browser_state_is() { [[ $(browser_state) == "$1" ]]; }
browser_text() { awk '$2 == "status" {$1 = $2 = $3 = ""; t = $0} END {print t}' "$W_EVENTS" | sed 's/^ *//'; }
# the page says it is offline: its connection indicator (#status) is in state "reconnecting"
# and reads "reconnecting…" (web/src/main.ts)
browser_offline() { browser_state_is reconnecting; }
browser_ever() { grep -q " status $1" "$W_EVENTS"; }

# watchers_check DIR NAME WHAT T_EVENT: after the event (the cut restored, the host moved) at
# T_EVENT (ms): the native join ends with every answer complete and all 200 lines once;
# Chromium's answer is byte-exact; the answers the page shows and the host's store (tokencast
# export) agree turn for turn; the page never gave up (status "ended").
watchers_check() {
  local dir=$1 name=$2 what=$3 t_event=$4
  watch_join "$dir" native
  local back=$(( $(now_ms) - t_event ))
  local eq; eq=$(answers_equal "$dir/native.json" 2>&1)
  local lines; lines=$(grep -c '^natlab line' "$dir/native.out")
  local reconnected=no
  grep -qi 'reconnecting' "$dir/native.err" && reconnected=yes
  # the event must come mid-answer (some lines before it, not all) for the check to mean anything
  if [[ $JOIN_RC == 0 ]] && grep -q byte-equal <<<"$eq" && [[ $lines == 200 ]] && (( ${W_NATIVE_BEFORE:-200} < 200 )); then
    result PASS "$name native" "$eq; ${W_NATIVE_BEFORE:-?} lines before the $what, ${W_NATIVE_DURING:-?} at its end, all 200 once after it; done $(secs "$back") s after it (reconnected: $reconnected)"
    observed "$name" native "no gap, no duplicate" "${W_NATIVE_BEFORE:-?}/200 lines before the $what; all 200 once; done $(secs "$back") s after it; reconnected: $reconnected" - "$(secs "$W_T_FIRST")" "$(secs "$T_DONE")" "$lines lines" pass
  else
    result FAIL "$name native" "exit $JOIN_RC; $eq; lines ${W_NATIVE_BEFORE:-?}/${W_NATIVE_DURING:-?}/$lines (before/end of $what/after); $(grep -v '^\[' "$dir/native.err" | tail -1)"
    observed "$name" native "no gap, no duplicate" "lines ${W_NATIVE_BEFORE:-?}/${W_NATIVE_DURING:-?}/$lines" - "$(secs "$W_T_FIRST")" "$(secs "$T_DONE")" - FAIL
  fi
  local ex; ex=$(export_equal "$dir" 2>&1)
  if grep -q byte-equal <<<"$ex"; then result PASS "$name export" "$ex"; else result FAIL "$name export" "$ex"; fi
  [[ $W_BROWSER == 1 ]] || return 0
  wait "$B_PID"; local rc=$?
  # when the page showed the whole answer (its events are stamped with the epoch in ms)
  local b_done; b_done=$(awk '$2 == "lines" && $3 == 200 {print $1; exit}' "$W_EVENTS")
  local b_back=$(( ${b_done:-$(now_ms)} - t_event ))
  local cmp cmp_rc
  cmp=$(python3 - "$dir/chromium.json" "$dir/export.json" "$ANSWER" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
store = [t for t in json.load(open(sys.argv[2], encoding="utf-8"))["turns"] if t["role"] == "assistant"]
raw = open(sys.argv[3], encoding="utf-8").read()
shown = r.get("assistant_turns") or []
if not r.get("ok"):
    print(f"answer not byte-exact: {r.get('detail')}"); sys.exit(1)
if len(shown) != len(store):
    print(f"the page shows {len(shown)} answers, the store holds {len(store)}"); sys.exit(1)
inner = lambda t: t.removeprefix("```\n").removesuffix("```\n")
bad = [i for i, (s, t) in enumerate(zip(shown, store))
       if s["open"] or t["status"] != "done" or s["text"] not in (t["text"], inner(t["text"]))]
if bad:
    print(f"page and store differ at answers {bad}"); sys.exit(1)
print(f"{r['detail']}; the page's {len(shown)} answer(s) equal the store's")
EOF
)
  cmp_rc=$?
  local ended=no; browser_ever ended && ended=yes
  local offline=no; browser_ever reconnecting && offline=yes
  if [[ $rc == 0 && $cmp_rc == 0 && $ended == no ]] && (( ${W_BROWSER_BEFORE:-200} < 200 )); then
    result PASS "$name chromium" "$cmp; ${W_BROWSER_BEFORE:-?} lines before the $what; offline shown: $offline; answer done $(secs "$b_back") s after it"
    observed "$name" chromium "no gap, no duplicate" "${W_BROWSER_BEFORE:-?}/200 lines before the $what; byte-exact, = store; offline shown: $offline; done $(secs "$b_back") s after it" - - - "byte-exact" pass
  else
    result FAIL "$name chromium" "exit $rc; $cmp; ${W_BROWSER_BEFORE:-?} lines before the $what; ended shown: $ended; states: $(grep ' status ' "$W_EVENTS" | awk '{print $3}' | uniq | tr '\n' ' ')"
    observed "$name" chromium "no gap, no duplicate" "$cmp" - - - - FAIL
  fi
}

# The joiner's link cut for SECONDS mid-answer, then restored: the native client and Chromium
# resume with no gap and no duplicate. The page must show that it is offline during the cut
# (and still at its end: it never gives up), then go live again by itself.
cut_case() {   # NAME SECONDS
  local name=$1 seconds=$2 dir=$LAB_DIR/$1
  bad_case_start "$name" eim eim 0 veth 1.0 || { lab_down; return; }   # a ~10 s answer
  watchers_start "$dir" "$name" "$seconds" || { lab_down; return; }
  W_NATIVE_BEFORE=$(grep -c '^natlab line' "$dir/native.out")
  W_BROWSER_BEFORE=-
  [[ $W_BROWSER == 1 ]] && W_BROWSER_BEFORE=$(browser_lines)
  lab_cut rB
  local t_cut; t_cut=$(now_ms)
  echo "nft add rule ip natlab cut_c iifname lan drop (and oifname) in rB; $seconds s; nft flush chain ip natlab cut_c" >>"$dir/commands"
  if [[ $W_BROWSER == 1 ]]; then
    # a state to wait for: the page says it is offline (within the cut)
    if wait_until "$seconds" "the page to show it is offline" browser_offline; then
      result PASS "$name chromium offline" "the page shows '$(browser_text)' $(secs $(( $(now_ms) - t_cut ))) s into the cut"
    else
      result FAIL "$name chromium offline" "the page never showed that it is offline (status: $(browser_state))"
    fi
  fi
  # the rest of the cut: the scenario's duration
  local left=$(( t_cut + seconds * 1000 - $(now_ms) ))
  (( left > 0 )) && sleep "$(secs "$left")"
  W_NATIVE_DURING=$(grep -c '^natlab line' "$dir/native.out")
  if [[ $W_BROWSER == 1 ]]; then
    if browser_offline; then
      result PASS "$name chromium still offline" "after $seconds s the page still shows '$(browser_text)' (it never gave up)"
    else
      result FAIL "$name chromium still offline" "at the end of the cut the page's status is '$(browser_state)', not offline"
    fi
  fi
  lab_restore rB
  local t_restore; t_restore=$(now_ms)
  if [[ $W_BROWSER == 1 ]]; then
    if wait_until 120 "the page to go live again by itself" browser_state_is connected; then
      result PASS "$name chromium back" "live again $(secs $(( $(now_ms) - t_restore ))) s after the restore, by itself"
    else
      result FAIL "$name chromium back" "not live 120 s after the restore (status: $(browser_state))"
    fi
  fi
  watchers_check "$dir" "$name" cut "$t_restore"
  lab_down
}
case_cut() { cut_case cut 30; }
case_longcut() { cut_case longcut "${NATLAB_LONGCUT_S:-180}"; }

# The host moves to another network mid-answer (tests/natlab/lab.sh lab_move_host: a new
# private and a new public address; its old interface is gone). The joiners' data channels
# die with the old address; they notice the silence and join again through the rendezvous
# (a fresh join carrying their resume position, docs/RELIABILITY.md), where the host registers
# again from its new address; both resume with no gap and no duplicate, and the page and the
# store agree.
case_move() {
  local name=move dir=$LAB_DIR/move
  bad_case_start move eim eim 0 veth 1.0 || { lab_down; return; }   # a ~10 s answer
  watchers_start "$dir" "$name" 120 || { lab_down; return; }
  W_NATIVE_BEFORE=$(grep -c '^natlab line' "$dir/native.out")
  W_BROWSER_BEFORE=-
  [[ $W_BROWSER == 1 ]] && W_BROWSER_BEFORE=$(browser_lines)
  echo "lab_move_host eim: ip -n rA link del phA; veth rC:lan <-> hA:eth0, 10.77.3.2/24 via 10.77.3.1 (rC: NAT, $LAB_WAN_C)" >>"$dir/commands"
  lab_move_host eim || { result FAIL "$name" "the host could not be moved"; lab_down; return; }
  local t_move; t_move=$(now_ms)
  W_NATIVE_DURING=$(grep -c '^natlab line' "$dir/native.out")
  if wait_until 120 "the host to register again from its new address" host_registered_from "$LAB_WAN_C"; then
    result PASS "$name host re-registers" "from $LAB_WAN_C $(secs $(( $(now_ms) - t_move ))) s after the move"
  else
    result FAIL "$name host re-registers" "no connection from $LAB_WAN_C at the rendezvous 120 s after the move"
  fi
  if [[ $W_BROWSER == 1 ]]; then
    if wait_until 120 "the page to notice the move" browser_ever reconnecting &&
       wait_until 120 "the page to go live again by itself" browser_state_is connected; then
      result PASS "$name chromium back" "live again $(secs $(( $(now_ms) - t_move ))) s after the move, by itself"
    else
      result FAIL "$name chromium back" "not live again 240 s after the move (status: $(browser_state))"
    fi
  fi
  watchers_check "$dir" "$name" move "$t_move"
  lab_down
}
# the rendezvous has a connection from ADDR (the host's rooms, from its new public address)
host_registered_from() {
  nsx pub ss -Htn state established "( sport = :$LAB_RDV_PORT )" 2>/dev/null | grep -q " $1:"
}

# the rendezvous killed (-9) and restarted mid-answer: the established peer keeps streaming, the
# host registers again, and a new join works
case_rdv() {
  local name=rdv dir=$LAB_DIR/rdv
  bad_case_start rdv eim eim 0 veth 0.4 || { lab_down; return 1; }   # a ~4 s answer
  join_native "$dir" jB turn-udp native 90
  if ! wait_until 60 "the first answer bytes" grep -q 'natlab line 001' "$dir/native.out"; then
    result FAIL "$name native" "no answer began: $(grep -v '^\[' "$dir/native.err" | tail -1)"; lab_down; return 1
  fi
  kill -9 "$LAB_RDV_PID"
  echo "kill -9 RENDEZVOUS; tokencast rendezvous --listen $LAB_PUB:$LAB_RDV_PORT (again)" >>"$dir/commands"
  wait "$LAB_RDV_PID" 2>/dev/null
  local at_kill; at_kill=$(grep -c '^natlab line' "$dir/native.out")
  if wait_until 30 "the answer to go on without the rendezvous" \
      eval '(( $(grep -c "^natlab line" "$dir/native.out") > at_kill ))'; then
    result PASS "$name established peer" "kept streaming with the rendezvous dead ($at_kill lines at the kill, more after)"
  else
    result FAIL "$name established peer" "no more lines after the rendezvous died ($at_kill)"
  fi
  local t_restart; t_restart=$(now_ms)
  : >"$dir/rdv.out"
  lab_start_rendezvous "$dir" || { result FAIL "$name" "the rendezvous did not restart"; lab_down; return 1; }
  if wait_until 60 "the host to register again" host_registered "$dir"; then
    result PASS "$name host re-registers" "after $(secs $(( $(now_ms) - t_restart ))) s"
  else
    result FAIL "$name host re-registers" "the host did not join its rooms again within 60 s"
  fi
  watch_join "$dir" native
  local eq; eq=$(answers_equal "$dir/native.json" 2>&1)
  if [[ $JOIN_RC == 0 ]] && grep -q byte-equal <<<"$eq"; then
    result PASS "$name native (established)" "$eq"
  else
    result FAIL "$name native (established)" "exit $JOIN_RC; $eq"
  fi
  join_native "$dir" jA turn-udp native2 90
  watch_join "$dir" native2
  local eq2; eq2=$(answers_equal "$dir/native2.json" 2>&1)
  if [[ $JOIN_RC == 0 ]] && grep -q byte-equal <<<"$eq2"; then
    result PASS "$name new join" "$eq2; live after $(secs "$T_LIVE") s"
    observed "$name" native "peers keep streaming; new joins work" "re-registered, new join live after $(secs "$T_LIVE") s" "$(secs "$T_LIVE")" "$(secs "$T_FIRST")" "$(secs "$T_DONE")" - pass
  else
    result FAIL "$name new join" "exit $JOIN_RC; $eq2; $(grep -v '^\[' "$dir/native2.err" | tail -1)"
    observed "$name" native "peers keep streaming; new joins work" "new join failed" - - - - FAIL
  fi
  [[ -n ${NATLAB_KEEP_LAB:-} ]] || lab_down
}

# the host killed -9 mid-answer, then resumed (--resume ID): the joiner's transcript equals the
# store (tokencast export), and a new answer after the resume is complete
case_resume() {
  local name=resume dir=$LAB_DIR/resume
  if [[ -n ${NATLAB_REUSE_LAB:-} ]]; then   # after case_rdv, in its lab (same host, same answer pace)
    dir=$LAB_DIR/rdv
  else
    bad_case_start resume eim eim 0 veth 0.4 || { lab_down; return; }
  fi
  # answers already in the session (when sharing rdv's lab): the joiner catches them up first,
  # so "mid-answer" is when the next answer's first line has arrived
  local before_answers
  before_answers=$("$TC" export "$SESSION" --db "$dir/h.db" --format json 2>/dev/null |
    python3 -c 'import json,sys; print(sum(t["role"] == "assistant" for t in json.load(sys.stdin)["turns"]))' 2>/dev/null)
  join_native "$dir" jB turn-udp resume 120
  if ! wait_until 60 "the first answer bytes" \
      eval '(( $(grep -c "^natlab line 001" "$dir/resume.out") > ${before_answers:-0} ))'; then
    result FAIL "$name native" "no answer began"; lab_down; return
  fi
  kill -9 "$HOST_PID"; wait "$HOST_PID" 2>/dev/null
  local at_kill; at_kill=$(( $(grep -c '^natlab line' "$dir/resume.out") - 200 * ${before_answers:-0} ))
  echo "kill -9 HOST; tokencast host --resume $SESSION --db h.db ... (again)" >>"$dir/commands"
  local t_restart; t_restart=$(now_ms)
  start_host "$dir" turn-udp 0.02 --resume "$SESSION" ||
    { result FAIL "$name" "the host did not resume: $(tail -2 "$dir/host.log")"; lab_down; return; }
  watch_join "$dir" resume
  local back=$(( $(now_ms) - t_restart ))
  "$TC" export "$SESSION" --db "$dir/h.db" --format json >"$dir/export.json" 2>"$dir/export.err"
  local cmp
  cmp=$(python3 - "$dir/resume.json" "$dir/export.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1], encoding="utf-8"))["turns"]
b = json.load(open(sys.argv[2], encoding="utf-8"))["turns"]
key = lambda t: (t["turn"], t["role"], t["text"], t["status"])
if [key(t) for t in a] == [key(t) for t in b]:
    print(f"transcript equals the store: {len(a)} turns, statuses {[t['status'] for t in a]}")
else:
    print(f"differs: joiner {[key(t)[:2] + (len(t['text']), t['status']) for t in a]} store {[key(t)[:2] + (len(t['text']), t['status']) for t in b]}")
    sys.exit(1)
EOF
)
  if [[ $JOIN_RC == 0 ]] && grep -q '^transcript equals' <<<"$cmp"; then
    result PASS "$name native" "$cmp; $at_kill lines before the kill; done $(secs "$back") s after the restart"
    observed "$name" native "transcript = store" "equal; killed after $at_kill/200 lines; done $(secs "$back") s after restart" - - "$(secs "$T_DONE")" - pass
  else
    result FAIL "$name native" "exit $JOIN_RC; $cmp; $(grep -v '^\[' "$dir/resume.err" | tail -1)"
    observed "$name" native "transcript = store" "$cmp" - - - - FAIL
  fi
  # a new answer after the resume, to a new joiner, is complete and byte-exact
  join_native "$dir" jA turn-udp resume2 90
  watch_join "$dir" resume2
  local eq2; eq2=$(python3 - "$dir/resume2.json" "$ANSWER" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1], encoding="utf-8"))["turns"]
want = open(sys.argv[2], encoding="utf-8").read()
last = [x for x in t if x["role"] == "assistant"][-1]
print("last answer byte-equal" if last["text"] == want and last["status"] == "done" else f"last answer differs ({len(last['text'])} chars, {last['status']})")
EOF
)
  if [[ $JOIN_RC == 0 ]] && grep -q 'byte-equal' <<<"$eq2"; then
    result PASS "$name new join after resume" "$eq2"
  else
    result FAIL "$name new join after resume" "exit $JOIN_RC; $eq2"
  fi
  lab_down
}

# A bench, not a test (not in the default list): the join time at a round-trip time of
# 2 x NATLAB_DELAY_MS (default 50: 100 ms) on joiner B's link (the delay line, no jitter, no
# loss), direct (full-cone NATs, STUN: server-reflexive) and relayed (--relay-only, TURN over
# UDP), native and Chromium, NATLAB_RTT_JOINS joins each (default 5). Native: from starting
# `tokencast join` to its first line (the transcript, printed once the host has welcomed it;
# tests/natlab/stamp_lines.py). Chromium: from navigation
# start to the status reading "live" (tests/natlab/rtt_browser.mjs), and to the page's DOM being
# ready. Writes $LAB_DIR/rtt/rtt.tsv; PASS when every join went live. bench/natlab-rtt runs it
# at 0 and 100 ms and prints the round trips.
case_rtt() {
  local name=rtt dir=$LAB_DIR/rtt n=${NATLAB_RTT_JOINS:-5}
  # the rendezvous hands out the lab's TURN server: Chromium's relay joins need it
  LAB_RDV_TURN=1 NATLAB_DELAY_MS=${NATLAB_DELAY_MS:-50} NATLAB_JITTER_MS=0 \
    bad_case_start rtt eim eim 0 tun 0.02 || { lab_down; return; }
  local tsv=$dir/rtt.tsv failures=0 mode i
  echo -e "client\tpath\tjoin\tlive_ms\tdom_ms" >"$tsv"
  for mode in direct relay; do
    local flags=(--stun "stun:$LAB_PUB:3478")
    [[ $mode == relay ]] && flags=(--turn "turn:$LAB_PUB:3478?transport=udp" --turn-user "$LAB_TURN_USER" --relay-only)
    for ((i = 1; i <= n; i++)); do
      local out=$dir/rtt-$mode-$i.out
      "$IP" netns exec "$LAB_NS-jB" timeout -k 5 60 python3 "$here/stamp_lines.py" "$out" \
        "$TC" join "$PART_LINK" --name rtt --no-reconnect "${flags[@]}" 2>"$dir/rtt-$mode-$i.err" &
      local pid=$!
      lab_remember $pid "join rtt"
      # every line join prints on stdout comes after the host's welcome: the first one is live
      if wait_until 60 "join $mode $i to go live" test -s "$out"; then
        local ms; ms=$(awk 'NR == 1 {print $1}' "$out")
        echo -e "native\t$mode\t$i\t$ms\t-" >>"$tsv"
      else
        failures=$((failures + 1))
      fi
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    done
    if [[ $BROWSER == 1 ]]; then
      local json=$dir/rtt-chromium-$mode.json
      "$IP" netns exec "$LAB_NS-jB" timeout -k 5 300 node "$here/rtt_browser.mjs" "$PART_LINK" "$n" "$json" \
        "$([[ $mode == relay ]] && echo relay)" >"$dir/rtt-chromium-$mode.out" 2>&1 || failures=$((failures + 1))
      python3 - "$json" "$mode" >>"$tsv" <<'PY'
import json, sys
for i, j in enumerate(json.load(open(sys.argv[1])), 1):
    print(f"chromium\t{sys.argv[2]}\t{i}\t{j['live_ms']:.1f}\t{j['dom_ms']:.1f}")
PY
    fi
  done
  if (( failures == 0 )); then result PASS "$name" "every join went live; $tsv"
  else result FAIL "$name" "$failures joins did not go live; $tsv"; fi
  column -t "$tsv"
  lab_down
}
