#!/usr/bin/env python3
"""Writes a tiny LLaMA-architecture GGUF model for the tests: random weights (2 layers, 64 wide)
with a real tokenizer, copied from a vocab-only GGUF of llama.cpp's source (models/).

The answers are noise, but everything around them is real: llama.cpp loads the file, applies
the chat template, tokenizes, evaluates and samples, and its detokenizer produces byte tokens
that split UTF-8 characters. Nothing here is committed; the build writes it into the build dir.

Usage: make_tiny_gguf.py GGUF_PY_DIR VOCAB.gguf OUT.gguf [--arch NAME] [--embd N --layers N
                         --ff N --f16]
  --arch NAME writes NAME as general.architecture (an architecture llama.cpp does not know).
  --embd, --layers, --ff, --f16: a larger model of the same kind, for bench/llm_llama_bench.
  --no-byte-tokens: the byte tokens (<0x00>..<0xFF>) are never sampled (their rows of the
  output matrix are zero, so their logit is 0 while about half the others' are positive). Random
  byte tokens make invalid UTF-8, which llama-server refuses to send (HTTP 500: output "does not
  match the expected format"); the in-process tests want them, the server's tests must not.
  --think-template: a chat template whose generation prompt opens "<think>" (the model's output
  starts inside its reasoning), as Jinja for llama-server --jinja and recognised by
  llama_chat_apply_template as Bailing-think (it tells that template by "<role>ASSISTANT</role>",
  "\"HUMAN\"" and "<think>" in its text) for the in-process source.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("gguf_py")
    parser.add_argument("vocab")
    parser.add_argument("out")
    parser.add_argument("--arch", default="llama")
    parser.add_argument("--embd", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--ff", type=int, default=128)
    parser.add_argument("--f16", action="store_true")
    parser.add_argument("--no-byte-tokens", action="store_true")
    parser.add_argument("--think-template", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, args.gguf_py)
    import numpy as np
    import gguf

    reader = gguf.GGUFReader(args.vocab)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    n_vocab = len(tokens.data)
    n_embd, n_layer, n_ff = args.embd, args.layers, args.ff
    n_head = max(1, n_embd // 64) if n_embd > 64 else 4
    matrix_type = np.float16 if args.f16 else np.float32

    writer = gguf.GGUFWriter(args.out, args.arch)
    writer.add_name("tokencast-tiny")
    writer.add_context_length(2048)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if args.f16 else gguf.LlamaFileType.ALL_F32)

    # The tokenizer, key by key, as the vocab file has it.
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value_type = field.types[0]
        if value_type == gguf.GGUFValueType.ARRAY:
            values = [field.contents(i) for i in range(len(field.data))]
            writer.add_array(name, values)
        else:
            writer.add_key_value(name, field.contents(), value_type)
    if args.think_template:
        # An earlier answer's reasoning is left out of the history, as reasoning models' own
        # templates do ("content.split('</think>')").
        writer.add_chat_template(
            "{% for message in messages %}"
            "{% if message['role'] == 'user' %}{% set role = \"HUMAN\" %}"
            "{% else %}{% set role = message['role'] | upper %}{% endif %}"
            "{% set content = message['content'] %}"
            "{% if message['role'] == 'assistant' and '</think>' in content %}"
            "{% set content = content.split('</think>')[-1] %}{% endif %}"
            "{{ '<role>' + role + '</role>' + content }}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<role>ASSISTANT</role><think>' }}{% endif %}")
    else:
        # ChatML: llama_chat_apply_template recognises it by its text.
        writer.add_chat_template(
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

    rng = np.random.default_rng(16)

    def weights(*shape, scale=0.5):
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(matrix_type)

    writer.add_tensor("token_embd.weight", weights(n_vocab, n_embd))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    output = weights(n_vocab, n_embd)
    if args.no_byte_tokens:
        token_types = reader.fields["tokenizer.ggml.token_type"]
        for i in range(n_vocab):
            if token_types.contents(i) == gguf.TokenType.BYTE:
                output[i, :] = 0
    writer.add_tensor("output.weight", output)
    for i in range(n_layer):
        block = f"blk.{i}."
        writer.add_tensor(block + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(block + name + ".weight", weights(n_embd, n_embd, scale=0.1))
        writer.add_tensor(block + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(block + "ffn_gate.weight", weights(n_ff, n_embd, scale=0.1))
        writer.add_tensor(block + "ffn_up.weight", weights(n_ff, n_embd, scale=0.1))
        writer.add_tensor(block + "ffn_down.weight", weights(n_embd, n_ff, scale=0.1))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
