# python3 tests/vectors/gen_frames.py > tests/vectors/frames.json
# Independent encoder written from docs/PROTOCOL.md (section 4), used to produce tests/vectors/frames.json.
import json
MAXS = (1 << 53) - 1
def J(n):  # integer convention: JSON number when <= 2^53-1, else decimal string
    return n if n <= MAXS else str(n)
def uv(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80); n >>= 7
    out.append(n); return bytes(out)
def zz(n): return uv((n << 1) ^ (n >> 63) & ((1 << 64) - 1)) if n >= 0 else uv(((-n) << 1) - 1)
def s(b):
    if isinstance(b, str): b = b.encode()
    return uv(len(b)) + b
TR = {"user": 0, "assistant": 1, "system": 2}
TE = {"done": 0, "cancelled": 1, "error": 2}
PR = {"viewer": 0, "participant": 1, "host": 2}
def ev(e):
    t = e["type"]
    if t == "turn_started": return b"\x01" + uv(e["turn"]) + uv(TR[e["role"]]) + s(e["author"]) + zz(e["at_ms"])
    if t == "text_delta": return b"\x02" + uv(e["turn"]) + uv(e["span"]) + s(bytes.fromhex(e["bytes_hex"]))
    if t == "turn_ended": return b"\x03" + uv(e["turn"]) + uv(TE[e["end"]]) + s(e["reason"]) + uv(e["token_count"]) + zz(e["at_ms"])
    if t == "peer_joined": return b"\x04" + uv(e["peer"]) + uv(PR[e["role"]]) + s(e["name"])
    if t == "peer_left": return b"\x05" + uv(e["peer"])
    if t == "session_meta": return b"\x06" + s(e["title"]) + s(e["model"])
    if t == "thinking_delta": return b"\x07" + uv(e["turn"]) + uv(e["span"]) + s(bytes.fromhex(e["bytes_hex"]))
    raise ValueError(t)
def fr(f):
    t = f["type"]
    if t == "hello": return b"\x01" + uv(f["version"]) + uv(f["last_seq"]) + s(f["display_name"])
    if t == "welcome": return b"\x02" + uv(f["version"]) + bytes.fromhex(f["session_id"]) + uv(PR[f["role"]]) + uv(f["peer"]) + uv(f["head_seq"])
    if t == "events":
        es = f["events"]
        return b"\x03" + uv(es[0]["seq"]) + uv(len(es)) + b"".join(ev(e) for e in es)
    if t == "delta": return b"\x04" + bytes.fromhex(f["bytes_hex"])
    if t == "prompt": return b"\x05" + uv(f["prompt_id"]) + s(f["text"])
    if t == "cancel": return b"\x06" + uv(f["turn"])
    if t == "ping": return b"\x07" + uv(f["nonce"])
    if t == "pong": return b"\x08" + uv(f["nonce"])
    if t == "error": return b"\x09" + uv(f["code"]) + s(f["text"])
    if t == "bye": return b"\x0a" + uv(f["reason"]) + s(f["text"])
    if t == "ack": return b"\x0b" + uv(f["last_seq"])
    if t == "thinking": return b"\x0c" + bytes.fromhex(f["bytes_hex"])
    if t == "signature":
        sig = bytes.fromhex(f["signature_hex"]); assert len(sig) == 64
        return b"\x0d" + uv(f["seq"]) + uv(f["turns"]) + sig
    raise ValueError(t)
def jsonify(o):
    if isinstance(o, dict): return {k: jsonify(v) for k, v in o.items()}
    if isinstance(o, list): return [jsonify(v) for v in o]
    if isinstance(o, int) and not isinstance(o, bool): return J(o)
    return o
H = lambda b: b.hex() if isinstance(b, bytes) else b.encode().hex()
U64 = (1 << 64) - 1
SID = bytes(range(16)).hex()
SIG = bytes(range(0x40, 0x80)).hex()  # 64 bytes; the codec does not verify (docs/PROTOCOL.md section 5 does)
valid = [
 ("hello_fresh", {"type": "hello", "version": 1, "last_seq": 0, "display_name": ""}),
 ("hello_resume", {"type": "hello", "version": 1, "last_seq": 300, "display_name": "Zoë"}),
 ("welcome_participant", {"type": "welcome", "version": 1, "session_id": SID, "role": "participant", "peer": 7, "head_seq": 42}),
 ("hello_version_2", {"type": "hello", "version": 2, "last_seq": 12, "display_name": "ann"}),
 ("welcome_version_2", {"type": "welcome", "version": 2, "session_id": SID, "role": "viewer", "peer": 3, "head_seq": 12}),
 ("welcome_viewer_empty_log", {"type": "welcome", "version": 1, "session_id": "ff" * 16, "role": "viewer", "peer": 128, "head_seq": 0}),
 ("events_turn_started", {"type": "events", "events": [{"seq": 1, "type": "turn_started", "turn": 1, "role": "assistant", "author": "gpt-4o", "at_ms": 1700000000000}]}),
 ("events_turn_started_user_negative_time", {"type": "events", "events": [{"seq": 2, "type": "turn_started", "turn": 2, "role": "user", "author": "alice", "at_ms": -1}]}),
 ("events_turn_started_system", {"type": "events", "events": [{"seq": 3, "type": "turn_started", "turn": 3, "role": "system", "author": "", "at_ms": 0}]}),
 ("events_text_delta", {"type": "events", "events": [{"seq": 5, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("Hello")}]}),
 ("events_text_delta_merged", {"type": "events", "events": [{"seq": 6, "type": "text_delta", "turn": 1, "span": 300, "bytes_hex": H("héllo wörld €")}]}),
 ("events_text_delta_split_character", {"type": "events", "events": [{"seq": 7, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": "e282"}]}),
 ("events_turn_ended_done", {"type": "events", "events": [{"seq": 8, "type": "turn_ended", "turn": 1, "end": "done", "reason": "", "token_count": 321, "at_ms": 1700000012345}]}),
 ("events_turn_ended_cancelled", {"type": "events", "events": [{"seq": 9, "type": "turn_ended", "turn": 4, "end": "cancelled", "reason": "cancelled by bob", "token_count": 12, "at_ms": 1700000099999}]}),
 ("events_turn_ended_error", {"type": "events", "events": [{"seq": 10, "type": "turn_ended", "turn": 5, "end": "error", "reason": "HTTP 429", "token_count": 0, "at_ms": 1700000100000}]}),
 ("events_peer_joined", {"type": "events", "events": [{"seq": 11, "type": "peer_joined", "peer": 3, "role": "viewer", "name": "bob"},
                                                          {"seq": 12, "type": "peer_joined", "peer": 4, "role": "participant", "name": "carol"},
                                                          {"seq": 13, "type": "peer_joined", "peer": 0, "role": "host", "name": "host"}]}),
 ("events_peer_left", {"type": "events", "events": [{"seq": 200, "type": "peer_left", "peer": 3}]}),
 ("events_session_meta", {"type": "events", "events": [{"seq": 1, "type": "session_meta", "title": "Trip plan", "model": "llama3:8b"}]}),
 ("events_mixed_batch", {"type": "events", "events": [
     {"seq": 20, "type": "turn_started", "turn": 6, "role": "assistant", "author": "m", "at_ms": 1000},
     {"seq": 21, "type": "text_delta", "turn": 6, "span": 3, "bytes_hex": H("a b c")},
     {"seq": 24, "type": "peer_left", "peer": 9},
     {"seq": 25, "type": "text_delta", "turn": 6, "span": 1, "bytes_hex": H(".")},
     {"seq": 26, "type": "turn_ended", "turn": 6, "end": "done", "reason": "", "token_count": 4, "at_ms": 2000}]}),
 ("events_last_sequence", {"type": "events", "events": [{"seq": U64, "type": "peer_left", "peer": 1}]}),
 ("events_span_to_last_sequence", {"type": "events", "events": [{"seq": U64 - 1, "type": "text_delta", "turn": U64, "span": 2, "bytes_hex": ""}]}),
 ("delta", {"type": "delta", "bytes_hex": H("Hi")}),
 ("delta_empty", {"type": "delta", "bytes_hex": ""}),
 ("delta_split_character", {"type": "delta", "bytes_hex": "ac20"}),
 ("prompt", {"type": "prompt", "prompt_id": 1, "text": "What is 2+2?"}),
 ("prompt_empty", {"type": "prompt", "prompt_id": 0, "text": ""}),
 ("cancel", {"type": "cancel", "turn": 5}),
 ("ping_zero", {"type": "ping", "nonce": 0}),
 ("ping_max", {"type": "ping", "nonce": U64}),
 ("pong", {"type": "pong", "nonce": 123456789}),
 ("error_slow_consumer", {"type": "error", "code": 3, "text": "slow consumer"}),
 ("error_unknown_code", {"type": "error", "code": 1000, "text": ""}),
 ("bye_normal", {"type": "bye", "reason": 0, "text": ""}),
 ("bye_shutdown", {"type": "bye", "reason": 8, "text": "host stopped"}),
 ("ack_zero", {"type": "ack", "last_seq": 0}),
 ("ack", {"type": "ack", "last_seq": 300}),
 ("ack_max", {"type": "ack", "last_seq": U64}),
 ("hello_version_3", {"type": "hello", "version": 3, "last_seq": 0, "display_name": "dee"}),
 ("welcome_version_3", {"type": "welcome", "version": 3, "session_id": SID, "role": "participant", "peer": 4, "head_seq": 9}),
 ("events_thinking_delta", {"type": "events", "events": [{"seq": 5, "type": "thinking_delta", "turn": 1, "span": 1, "bytes_hex": H("Hmm")}]}),
 ("events_thinking_delta_merged", {"type": "events", "events": [{"seq": 6, "type": "thinking_delta", "turn": 1, "span": 40, "bytes_hex": H("the user wants ") + "e2"}]}),
 ("events_thinking_then_text", {"type": "events", "events": [
     {"seq": 30, "type": "turn_started", "turn": 8, "role": "assistant", "author": "r1", "at_ms": 3000},
     {"seq": 31, "type": "thinking_delta", "turn": 8, "span": 4, "bytes_hex": H("2+2=4")},
     {"seq": 35, "type": "text_delta", "turn": 8, "span": 2, "bytes_hex": H("Four.")},
     {"seq": 37, "type": "turn_ended", "turn": 8, "end": "done", "reason": "", "token_count": 6, "at_ms": 3100}]}),
 ("thinking", {"type": "thinking", "bytes_hex": H("so")}),
 ("thinking_empty", {"type": "thinking", "bytes_hex": ""}),
 ("thinking_split_character", {"type": "thinking", "bytes_hex": "82ac"}),
 ("hello_version_4", {"type": "hello", "version": 4, "last_seq": 0, "display_name": "eve"}),
 ("welcome_version_4", {"type": "welcome", "version": 4, "session_id": SID, "role": "viewer", "peer": 5, "head_seq": 12}),
 ("signature", {"type": "signature", "seq": 12, "turns": 2, "signature_hex": SIG}),
 ("signature_max", {"type": "signature", "seq": U64, "turns": U64, "signature_hex": "ff" * 64}),
 ("signature_zero_turns", {"type": "signature", "seq": 1, "turns": 0, "signature_hex": "00" * 64}),
]
X = lambda h: h.replace(" ", "")
invalid = [
 ("empty", "", "truncated"),
 ("type_zero", "00", "unknown_frame_type"),
 ("type_1f", "1f", "unknown_frame_type"),
 ("type_ff", "ff00", "unknown_frame_type"),
 ("hello_version_6", "01 06 00 00", "unknown_version"),
 ("hello_version_0", "01 00 00 00", "unknown_version"),
 ("hello_version_6_other_layout", "01 06 ffffffff", "unknown_version"),
 ("welcome_version_6", "02 06" + SID + "01 07 2a", "unknown_version"),
 ("signature_empty", "0d", "truncated"),
 ("signature_seq_0", "0d 00 01" + SIG, "bad_sequence"),
 ("signature_seq_overlong", "0d 8100 01" + SIG, "bad_varint"),
 ("signature_short", "0d 05 01" + SIG[:126], "truncated"),
 ("signature_no_signature", "0d 05 01", "truncated"),
 ("signature_trailing", "0d 05 01" + SIG + "00", "trailing_bytes"),
 ("ack_empty", "0b", "truncated"),
 ("ack_overlong", "0b 8000", "bad_varint"),
 ("ack_trailing", "0b 01 00", "trailing_bytes"),
 ("hello_type_only", "01", "truncated"),
 ("hello_no_last_seq", "01 01", "truncated"),
 ("hello_no_name", "01 01 00", "truncated"),
 ("hello_name_short", "01 01 00 05 616c6963", "truncated"),
 ("welcome_short_session_id", "02 01" + SID[:30], "truncated"),
 ("events_missing_event", "03 01 01", "truncated"),
 ("events_missing_second_event", "03 01 02 05 01", "truncated"),
 ("ping_varint_cut", "07 80", "truncated"),
 ("delta_event_bytes_short", "03 05 01 02 01 01 05 6869", "truncated"),
 ("ping_overlong_zero", "07 8000", "bad_varint"),
 ("ping_overlong_one", "07 8180 00", "bad_varint"),
 ("ping_65_bits", "07 ffffffffffffffffff02", "bad_varint"),
 ("ping_11_bytes", "07 80808080808080808080 00", "bad_varint"),
 ("hello_last_seq_overlong", "01 01 8100 00", "bad_varint"),
 ("events_count_overlong", "03 01 8100 05 01", "bad_varint"),
 ("ping_trailing", "07 00 00", "trailing_bytes"),
 ("cancel_trailing", "06 01 ff", "trailing_bytes"),
 ("events_trailing", "03 01 01 05 01 05", "trailing_bytes"),
 ("bye_trailing", "0a 00 00 00", "trailing_bytes"),
 ("event_type_zero", "03 01 01 00", "unknown_event_type"),
 ("event_type_08", "03 01 01 08 00", "unknown_event_type"),
 ("second_event_type_unknown", "03 01 02 05 01 7f", "unknown_event_type"),
 ("hello_name_1025", "01 01 00 8108", "string_too_long"),
 ("error_text_1025", "09 01 8108", "string_too_long"),
 ("hello_name_not_utf8", "01 01 00 01 ff", "invalid_utf8"),
 ("prompt_overlong_utf8", "05 01 02 c0af", "invalid_utf8"),
 ("prompt_surrogate", "05 01 03 eda080", "invalid_utf8"),
 ("author_cut_character", "03 01 01 01 01 01 02 e282 00", "invalid_utf8"),
 ("turn_started_role_3", "03 01 01 01 01 03 00 00", "bad_enum"),
 ("turn_ended_end_3", "03 01 01 03 01 03 00 00 00", "bad_enum"),
 ("peer_joined_role_3", "03 01 01 04 01 03 00", "bad_enum"),
 ("welcome_role_host", "02 01" + SID + "02 07 2a", "bad_enum"),
 ("events_empty", "03 01 00", "empty_batch"),
 ("delta_span_0", "03 01 01 02 01 00 00", "bad_span"),
 ("thinking_span_0", "03 01 01 07 01 00 00", "bad_span"),
 ("thinking_event_bytes_short", "03 05 01 07 01 01 05 6869", "truncated"),
 ("events_first_seq_0", "03 00 01 05 01", "bad_sequence"),
 ("span_past_last_sequence", "03 ffffffffffffffffff01 01 02 01 02 00", "bad_sequence"),
 ("event_after_last_sequence", "03 ffffffffffffffffff01 02 05 01 05 02", "bad_sequence"),
]
invalid.append(("delta_oversized", {"hex": "04", "then_repeat": {"hex": "61", "times": 16384}}, "oversized"))
invalid.append(("thinking_oversized", {"hex": "0c", "then_repeat": {"hex": "61", "times": 16384}}, "oversized"))
invalid.append(("unknown_type_oversized", {"hex": "ff", "then_repeat": {"hex": "00", "times": 16384}}, "oversized"))
stateful = [
 ("events_ahead", "03 07 01 05 01", {"last_seq": 5, "open_turn": None}, "sequence_gap"),
 ("events_replayed", "03 05 01 05 01", {"last_seq": 5, "open_turn": None}, "sequence_gap"),
 ("delta_no_open_turn", "04 61", {"last_seq": 0, "open_turn": None}, "no_open_turn"),
 ("text_delta_no_open_turn", "03 01 01 02 01 01 01 61", {"last_seq": 0, "open_turn": None}, "no_open_turn"),
 ("turn_ended_no_open_turn", "03 04 01 03 01 00 00 00 00", {"last_seq": 3, "open_turn": None}, "no_open_turn"),
 ("text_delta_other_turn", "03 04 01 02 02 01 01 61", {"last_seq": 3, "open_turn": 1}, "turn_mismatch"),
 ("turn_started_while_open", "03 04 01 01 02 01 00 00", {"last_seq": 3, "open_turn": 1}, "turn_already_open"),
 ("batch_second_turn_start", "03 01 02 01 01 01 00 00 01 02 01 00 00", {"last_seq": 0, "open_turn": None}, "turn_already_open"),
 ("hello_to_client", "01 01 00 00", {"last_seq": 0, "open_turn": None}, "unexpected_frame"),
 ("prompt_to_client", "05 01 00", {"last_seq": 0, "open_turn": None}, "unexpected_frame"),
 ("cancel_to_client", "06 01", {"last_seq": 0, "open_turn": None}, "unexpected_frame"),
 ("ack_to_client", "0b 01", {"last_seq": 0, "open_turn": None}, "unexpected_frame"),
 ("thinking_no_open_turn", "0c 61", {"last_seq": 0, "open_turn": None}, "no_open_turn"),
 ("thinking_delta_no_open_turn", "03 01 01 07 01 01 01 61", {"last_seq": 0, "open_turn": None}, "no_open_turn"),
 ("thinking_delta_other_turn", "03 04 01 07 02 01 01 61", {"last_seq": 3, "open_turn": 1}, "turn_mismatch"),
 ("signature_seq_0_to_client", "0d 00 00" + SIG, {"last_seq": 4, "open_turn": None}, "bad_sequence"),
]
def ev_seq(e, seq):
    e = dict(e); e["seq"] = seq; return e
streams = [
 {"name": "fresh_client", "start": {"last_seq": 0, "open_turn": None},
  "frames": [{"type": "welcome", "version": 1, "session_id": SID, "role": "viewer", "peer": 2, "head_seq": 1},
             {"type": "events", "events": [{"seq": 1, "type": "turn_started", "turn": 1, "role": "assistant", "author": "m", "at_ms": 5}]},
             {"type": "delta", "bytes_hex": H("Hel")},
             {"type": "delta", "bytes_hex": H("lo")},
             {"type": "ping", "nonce": 9},
             {"type": "events", "events": [{"seq": 4, "type": "turn_ended", "turn": 1, "end": "done", "reason": "", "token_count": 2, "at_ms": 6}]}],
  "decoded": [None, None,
              {"type": "events", "events": [{"seq": 2, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("Hel")}]},
              {"type": "events", "events": [{"seq": 3, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("lo")}]},
              None, None],
  "end": {"last_seq": 4, "open_turn": None}},
 {"name": "resume_mid_turn", "start": {"last_seq": 10, "open_turn": 3},
  "frames": [{"type": "events", "events": [{"seq": 11, "type": "text_delta", "turn": 3, "span": 5, "bytes_hex": H("caught up ")}]},
             {"type": "delta", "bytes_hex": H("live")},
             {"type": "events", "events": [{"seq": 17, "type": "turn_ended", "turn": 3, "end": "cancelled", "reason": "", "token_count": 6, "at_ms": 7},
                                            {"seq": 18, "type": "turn_started", "turn": 4, "role": "user", "author": "bob", "at_ms": 8}]},
             {"type": "delta", "bytes_hex": H("?")}],
  "decoded": [None,
              {"type": "events", "events": [{"seq": 16, "type": "text_delta", "turn": 3, "span": 1, "bytes_hex": H("live")}]},
              None,
              {"type": "events", "events": [{"seq": 19, "type": "text_delta", "turn": 4, "span": 1, "bytes_hex": H("?")}]}],
  "end": {"last_seq": 19, "open_turn": 4}},
 {"name": "thinking_then_answer", "start": {"last_seq": 0, "open_turn": None},
  "frames": [{"type": "welcome", "version": 3, "session_id": SID, "role": "viewer", "peer": 1, "head_seq": 2},
             {"type": "events", "events": [{"seq": 1, "type": "turn_started", "turn": 1, "role": "assistant", "author": "r1", "at_ms": 5},
                                            {"seq": 2, "type": "thinking_delta", "turn": 1, "span": 1, "bytes_hex": H("Let me ")}]},
             {"type": "thinking", "bytes_hex": H("think")},
             {"type": "delta", "bytes_hex": H("Yes")},
             {"type": "events", "events": [{"seq": 5, "type": "turn_ended", "turn": 1, "end": "done", "reason": "", "token_count": 3, "at_ms": 6}]}],
  "decoded": [None, None,
              {"type": "events", "events": [{"seq": 3, "type": "thinking_delta", "turn": 1, "span": 1, "bytes_hex": H("think")}]},
              {"type": "events", "events": [{"seq": 4, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("Yes")}]},
              None],
  "end": {"last_seq": 5, "open_turn": None}},
 {"name": "signature_after_turn", "start": {"last_seq": 0, "open_turn": None},
  "frames": [{"type": "welcome", "version": 4, "session_id": SID, "role": "viewer", "peer": 1, "head_seq": 0},
             {"type": "events", "events": [{"seq": 1, "type": "turn_started", "turn": 1, "role": "assistant", "author": "m", "at_ms": 5}]},
             {"type": "delta", "bytes_hex": H("Hi")},
             {"type": "events", "events": [{"seq": 3, "type": "turn_ended", "turn": 1, "end": "done", "reason": "", "token_count": 1, "at_ms": 6}]},
             {"type": "signature", "seq": 3, "turns": 1, "signature_hex": SIG}],
  "decoded": [None, None,
              {"type": "events", "events": [{"seq": 2, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("Hi")}]},
              None, None],
  "end": {"last_seq": 3, "open_turn": None}},
 {"name": "signature_before_catchup", "start": {"last_seq": 0, "open_turn": None},
  "frames": [{"type": "welcome", "version": 4, "session_id": SID, "role": "participant", "peer": 2, "head_seq": 3},
             {"type": "signature", "seq": 3, "turns": 1, "signature_hex": SIG},
             {"type": "events", "events": [{"seq": 1, "type": "turn_started", "turn": 1, "role": "assistant", "author": "m", "at_ms": 5},
                                            {"seq": 2, "type": "text_delta", "turn": 1, "span": 1, "bytes_hex": H("Hi")},
                                            {"seq": 3, "type": "turn_ended", "turn": 1, "end": "done", "reason": "", "token_count": 1, "at_ms": 6}]}],
  "decoded": [None, None, None],
  "end": {"last_seq": 3, "open_turn": None}},
]
out_streams = []
for st in streams:
    frames = []
    for f, d in zip(st["frames"], st["decoded"]):
        frames.append({"hex": fr(f).hex(), "decoded": jsonify(d if d is not None else f)})
    out_streams.append({"name": st["name"], "start": st["start"], "frames": frames, "end": st["end"]})
doc = {
 "description": "Known-answer vectors for tokencast frames, protocol versions 1 to 4 (docs/PROTOCOL.md, Frames). "
                "valid: decode(hex) must equal frame and encode(frame) must equal hex. "
                "invalid: decoding must fail with error; when decoder is given, decode with a stateful client decoder "
                "starting at that position, else statelessly. streams: feed the frames in order to a stateful client "
                "decoder starting at start; each frame decodes to decoded (delta and thinking frames come out as an events frame with "
                "sequence and turn filled in) and the decoder ends at end.",
 "conventions": {
   "hex": "lowercase hex, no separators; an entry may instead be an object {hex, then_repeat: {hex, times}} meaning hex followed by then_repeat.hex repeated times times",
   "integers": "JSON numbers, or decimal strings for values above 2^53-1; readers accept both",
   "text": "labels and prompt texts are JSON strings; delta bytes are bytes_hex because they may split a UTF-8 character; so are thinking bytes; a signature frame's 64 bytes are signature_hex",
   "enums": "turn role: user|assistant|system; turn end: done|cancelled|error; peer role: viewer|participant|host; error code and bye reason are numbers (open-ended)",
   "position": "{last_seq, open_turn}: the last sequence the client holds and the turn open at that point (null if none)"},
 "protocol_version": 4,
 "max_frame_bytes": 16384,
 "valid": [{"name": n, "hex": fr(f).hex(), "frame": jsonify(f)} for n, f in valid],
 "invalid": [],
 "streams": out_streams,
}
for n, h, e in invalid:
    doc["invalid"].append({"name": n, "hex": X(h) if isinstance(h, str) else h, "error": e})
for n, h, pos, e in stateful:
    doc["invalid"].append({"name": n, "hex": X(h), "decoder": pos, "error": e})
print(json.dumps(doc, indent=1, ensure_ascii=False))
